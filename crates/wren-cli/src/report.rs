//! [`Reporter`]: what a person reads on stderr — progress (with
//! `--verbose`) and statuses with their details.

use std::fmt::Display;
use std::io::Write;

use prost_reflect::{DescriptorPool, DynamicMessage};
use wren_codec::Status;
use wren_codec::prost_types::Any;

/// Writes to stderr.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reporter {
    verbose: bool,
}

impl Reporter {
    pub(crate) fn new(verbose: bool) -> Reporter {
        Reporter { verbose }
    }

    /// A step, printed only with `--verbose`.
    pub(crate) fn progress(&self, what: impl Display) {
        if self.verbose {
            let _ = writeln!(std::io::stderr(), "wren: {what}");
        }
    }

    /// A failed call's status: what failed, the code's name and number,
    /// the message, and each detail — decoded as JSON where `pool` knows
    /// its type, as hex otherwise.
    pub(crate) fn status(&self, what: &str, status: &Status, pool: Option<&DescriptorPool>) {
        let mut out = String::new();
        out.push_str(&format!(
            "wren: {what}: {} (code {})\n",
            status.code().description(),
            status.code().as_i32()
        ));
        if !status.message().is_empty() {
            out.push_str(&format!("  message: {}\n", status.message()));
        }
        if wren_transport::is_closed(status) {
            out.push_str("  (the connection closed before a reply arrived)\n");
        }
        for (i, detail) in status.details().iter().enumerate() {
            out.push_str(&format!(
                "  detail {}: {}\n",
                i + 1,
                detail_text(detail, pool)
            ));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }
}

/// One status detail: `TYPE JSON`, or `TYPE (N bytes, unknown type) HEX`.
pub(crate) fn detail_text(any: &Any, pool: Option<&DescriptorPool>) -> String {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    let decoded = pool
        .and_then(|pool| pool.get_message_by_name(name))
        .and_then(|desc| DynamicMessage::decode(desc, any.value.as_slice()).ok())
        .and_then(|msg| serde_json::to_string(&msg).ok());
    match decoded {
        Some(json) => format!("{} {json}", any.type_url),
        None => format!(
            "{} ({} bytes, type not known) {}",
            any.type_url,
            any.value.len(),
            hex::encode(&any.value)
        ),
    }
}
