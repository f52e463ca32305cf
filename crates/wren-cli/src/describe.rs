//! `wren list` and `wren describe`: descriptors printed in .proto syntax.

use std::fmt::Write as _;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, ServiceDescriptor, Syntax,
};

use crate::args::{DescribeArgs, ListArgs};
use crate::error::{Failure, Result};
use crate::report::Reporter;
use crate::{connect, source};

/// Splits `[ENDPOINT] [NAME]`: an endpoint is a URI (`scheme://...`) or an
/// absolute path; proto names are neither.
fn split_endpoint(args: &[String]) -> Result<(Option<&str>, Option<&str>)> {
    let is_endpoint = |s: &str| s.contains("://") || s.starts_with('/');
    match args {
        [] => Ok((None, None)),
        [one] if is_endpoint(one) => Ok((Some(one), None)),
        [one] => Ok((None, Some(one))),
        [endpoint, name] if is_endpoint(endpoint) && !is_endpoint(name) => {
            Ok((Some(endpoint), Some(name)))
        }
        _ => Err(Failure::usage(format!(
            "expected [ENDPOINT] [NAME], got {}",
            args.join(" ")
        ))),
    }
}

pub(crate) async fn list(args: ListArgs, reporter: Reporter) -> Result<()> {
    let (endpoint, service) = split_endpoint(&args.args)?;
    let pool = match (source::from_files(&args.sources)?, endpoint) {
        (Some(pool), _) => pool,
        (None, Some(endpoint)) => {
            let channel = connect::channel(endpoint, &args.connect, &reporter).await?;
            match service {
                // Names alone need no descriptors.
                None => {
                    for name in
                        source::services_by_reflection(&channel, endpoint, &reporter).await?
                    {
                        println!("{name}");
                    }
                    return Ok(());
                }
                Some(service) => {
                    source::from_reflection(&channel, endpoint, &[service.to_owned()], &reporter)
                        .await?
                }
            }
        }
        (None, None) => {
            return Err(Failure::usage(
                "nothing to list: give an ENDPOINT (for reflection) or --proto / --descriptor-set",
            ));
        }
    };
    match service {
        None => {
            let mut names: Vec<String> =
                pool.services().map(|s| s.full_name().to_owned()).collect();
            names.sort();
            for name in names {
                println!("{name}");
            }
        }
        Some(service) => {
            let svc = pool.get_service_by_name(service).ok_or_else(|| {
                Failure::usage(format!(
                    "service {service} is not declared in the descriptors"
                ))
            })?;
            for method in svc.methods() {
                println!("{}", method_line(&method, true));
            }
        }
    }
    Ok(())
}

pub(crate) async fn describe(args: DescribeArgs, reporter: Reporter) -> Result<()> {
    let (endpoint, symbol) = split_endpoint(&args.args)?;
    let symbol = symbol
        .ok_or_else(|| Failure::usage("describe needs a SYMBOL, such as hello.v1.Greeter"))?
        .trim_start_matches('.');
    let pool = match (source::from_files(&args.sources)?, endpoint) {
        (Some(pool), _) => pool,
        (None, Some(endpoint)) => {
            let channel = connect::channel(endpoint, &args.connect, &reporter).await?;
            source::from_reflection(&channel, endpoint, &[symbol.to_owned()], &reporter).await?
        }
        (None, None) => {
            return Err(Failure::usage(
                "nothing to describe from: give an ENDPOINT (for reflection) or --proto / --descriptor-set",
            ));
        }
    };
    let text = render(&pool, symbol)
        .ok_or_else(|| Failure::usage(format!("{symbol} is not declared in the descriptors")))?;
    print!("{text}");
    Ok(())
}

/// `symbol` described: what it is, then its declaration.
pub(crate) fn render(pool: &DescriptorPool, symbol: &str) -> Option<String> {
    if let Some(svc) = pool.get_service_by_name(symbol) {
        return Some(format!("{symbol} is a service:\n{}", service_text(&svc)));
    }
    if let Some(msg) = pool.get_message_by_name(symbol) {
        return Some(format!("{symbol} is a message:\n{}", message_text(&msg, 0)));
    }
    if let Some(e) = pool.get_enum_by_name(symbol) {
        return Some(format!("{symbol} is an enum:\n{}", enum_text(&e, 0)));
    }
    let (parent, name) = symbol.rsplit_once('.')?;
    if let Some(svc) = pool.get_service_by_name(parent) {
        let method = svc.methods().find(|m| m.name() == name)?;
        return Some(format!(
            "{symbol} is a method:\n{}\n",
            method_line(&method, false)
        ));
    }
    if let Some(msg) = pool.get_message_by_name(parent) {
        let field = msg.get_field_by_name(name)?;
        return Some(format!("{symbol} is a field:\n{}\n", field_line(&field)));
    }
    None
}

fn method_line(method: &MethodDescriptor, qualified: bool) -> String {
    let stream = |on: bool| if on { "stream " } else { "" };
    let name = if qualified {
        method.full_name().to_owned()
    } else {
        format!("rpc {}", method.name())
    };
    format!(
        "{name}({}{}) returns ({}{});",
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name()
    )
}

fn service_text(svc: &ServiceDescriptor) -> String {
    let mut out = format!("service {} {{\n", svc.name());
    for method in svc.methods() {
        let _ = writeln!(out, "  {}", method_line(&method, false));
    }
    out.push_str("}\n");
    out
}

fn type_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
    }
}

fn field_line(field: &FieldDescriptor) -> String {
    let ty = if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field's kind is its entry message")
        };
        let key = entry.map_entry_key_field();
        let value = entry.map_entry_value_field();
        format!("map<{}, {}>", type_name(&key), type_name(&value))
    } else {
        let proto2 = field.parent_file().syntax() == Syntax::Proto2;
        let label = match field.cardinality() {
            Cardinality::Repeated => "repeated ",
            Cardinality::Required => "required ",
            Cardinality::Optional
                if field.field_descriptor_proto().proto3_optional()
                    || (proto2 && field.containing_oneof().is_none()) =>
            {
                "optional "
            }
            Cardinality::Optional => "",
        };
        format!("{label}{}", type_name(field))
    };
    format!("{ty} {} = {};", field.name(), field.number())
}

fn message_text(msg: &MessageDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut out = format!("{pad}message {} {{\n", msg.name());
    for field in msg.fields() {
        // Fields of a real oneof are printed inside it below.
        if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        let _ = writeln!(out, "{pad}  {}", field_line(&field));
    }
    for oneof in msg.oneofs().filter(|o| !o.is_synthetic()) {
        let _ = writeln!(out, "{pad}  oneof {} {{", oneof.name());
        for field in oneof.fields() {
            let _ = writeln!(out, "{pad}    {}", field_line(&field));
        }
        let _ = writeln!(out, "{pad}  }}");
    }
    for nested in msg.child_messages().filter(|m| !m.is_map_entry()) {
        out.push_str(&message_text(&nested, depth + 1));
    }
    for e in msg.child_enums() {
        out.push_str(&enum_text(&e, depth + 1));
    }
    let _ = writeln!(out, "{pad}}}");
    out
}

fn enum_text(e: &EnumDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut out = format!("{pad}enum {} {{\n", e.name());
    for value in e.values() {
        let _ = writeln!(out, "{pad}  {} = {};", value.name(), value.number());
    }
    let _ = writeln!(out, "{pad}}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.proto"),
            r#"syntax = "proto3";
package t.v1;
message Req {
  string name = 1;
  repeated int64 ids = 2;
  map<string, Req> children = 3;
  optional bool flag = 4;
  oneof choice { string a = 5; int32 b = 6; }
  enum Mood { CALM = 0; LOUD = 1; }
  Mood mood = 7;
}
service Svc {
  rpc Get(Req) returns (Req);
  rpc Watch(Req) returns (stream Req);
  rpc Chat(stream Req) returns (stream Req);
}
"#,
        )
        .unwrap();
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        compiler.open_file("t.proto").unwrap();
        compiler.descriptor_pool()
    }

    #[test]
    fn services_messages_and_members_render_as_proto() {
        let pool = pool();
        assert_eq!(
            render(&pool, "t.v1.Svc").unwrap(),
            "t.v1.Svc is a service:\nservice Svc {\n  rpc Get(t.v1.Req) returns (t.v1.Req);\n  rpc Watch(t.v1.Req) returns (stream t.v1.Req);\n  rpc Chat(stream t.v1.Req) returns (stream t.v1.Req);\n}\n"
        );
        assert_eq!(
            render(&pool, "t.v1.Req").unwrap(),
            "t.v1.Req is a message:\nmessage Req {\n  string name = 1;\n  repeated int64 ids = 2;\n  map<string, t.v1.Req> children = 3;\n  optional bool flag = 4;\n  t.v1.Req.Mood mood = 7;\n  oneof choice {\n    string a = 5;\n    int32 b = 6;\n  }\n  enum Mood {\n    CALM = 0;\n    LOUD = 1;\n  }\n}\n"
        );
        assert_eq!(
            render(&pool, "t.v1.Svc.Watch").unwrap(),
            "t.v1.Svc.Watch is a method:\nrpc Watch(t.v1.Req) returns (stream t.v1.Req);\n"
        );
        assert_eq!(
            render(&pool, "t.v1.Req.ids").unwrap(),
            "t.v1.Req.ids is a field:\nrepeated int64 ids = 2;\n"
        );
        assert!(render(&pool, "t.v1.Nope").is_none());
        assert!(render(&pool, "t.v1.Svc.Nope").is_none());
    }

    #[test]
    fn endpoints_are_told_from_names() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = args(&["unix:///x.sock", "a.B"]);
        assert_eq!(
            split_endpoint(&a).unwrap(),
            (Some("unix:///x.sock"), Some("a.B"))
        );
        let a = args(&["/run/x.sock"]);
        assert_eq!(split_endpoint(&a).unwrap(), (Some("/run/x.sock"), None));
        let a = args(&["a.B"]);
        assert_eq!(split_endpoint(&a).unwrap(), (None, Some("a.B")));
        assert!(split_endpoint(&args(&["a.B", "c.D"])).is_err());
    }
}
