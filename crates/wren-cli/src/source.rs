//! Message types: from .proto files, descriptor sets, or the server's
//! reflection service.

use std::path::{Path, PathBuf};

use prost_reflect::DescriptorPool;
use wren_client::Channel;
use wren_codec::{Code, Status};
use wren_reflection::ReflectionClient;

use crate::args::Sources;
use crate::error::{Failure, Result};
use crate::report::Reporter;

/// The types the command line's files declare, or `None` if it names none.
pub(crate) fn from_files(sources: &Sources) -> Result<Option<DescriptorPool>> {
    if sources.is_empty() {
        return Ok(None);
    }
    let mut pool = if sources.protos.is_empty() {
        DescriptorPool::new()
    } else {
        compile(&sources.protos, &sources.import_paths)?
    };
    for path in &sources.descriptor_sets {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        pool.decode_file_descriptor_set(bytes.as_slice())
            .map_err(|e| {
                Failure::usage(format!(
                    "{} is not a usable FileDescriptorSet: {e}",
                    path.display()
                ))
            })?;
    }
    Ok(Some(pool))
}

/// Compiles `protos` with protox; without `-I`, each file's directory is
/// where its imports are looked up.
fn compile(protos: &[PathBuf], import_paths: &[PathBuf]) -> Result<DescriptorPool> {
    let includes: Vec<PathBuf> = if import_paths.is_empty() {
        let mut dirs: Vec<PathBuf> = protos
            .iter()
            .map(|p| match p.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            })
            .collect();
        dirs.dedup();
        dirs
    } else {
        import_paths.to_vec()
    };
    let mut compiler = protox::Compiler::new(&includes).map_err(proto_error)?;
    compiler.include_imports(true).include_source_info(true);
    for proto in protos {
        // A file given relative to the current directory that is not
        // relative to an import path is opened by its absolute path.
        let path: &Path = proto;
        let opened = compiler.open_file(path);
        if let Err(e) = opened {
            match std::fs::canonicalize(path) {
                Ok(abs) if e.is_file_not_found() || !path.is_absolute() => {
                    compiler.open_file(&abs).map_err(proto_error)?;
                }
                _ => return Err(proto_error(e)),
            }
        }
    }
    Ok(compiler.descriptor_pool())
}

fn proto_error(e: protox::Error) -> Failure {
    // Debug carries the file, line and column.
    Failure::usage(format!("cannot compile the .proto files: {e:?}"))
}

/// The types of `symbols` (and everything they use), from the server's
/// reflection service.
pub(crate) async fn from_reflection(
    channel: &Channel,
    endpoint: &str,
    symbols: &[String],
    reporter: &Reporter,
) -> Result<DescriptorPool> {
    let mut client = ReflectionClient::new(channel.clone());
    let symbols: Vec<String> = if symbols.is_empty() {
        reporter.progress("asking the server for its services (reflection)");
        client
            .list_services()
            .await
            .map_err(|s| reflection_failed(endpoint, s, reporter))?
    } else {
        symbols.to_vec()
    };
    reporter.progress(format!(
        "fetching descriptors for {} (reflection)",
        symbols.join(", ")
    ));
    let set = client
        .file_descriptor_set(&symbols)
        .await
        .map_err(|s| reflection_failed(endpoint, s, reporter))?;
    DescriptorPool::from_file_descriptor_set(set).map_err(|e| {
        Failure::Internal(format!(
            "the server's reflection descriptors do not form a valid set: {e}"
        ))
    })
}

/// The list of every service, from reflection.
pub(crate) async fn services_by_reflection(
    channel: &Channel,
    endpoint: &str,
    reporter: &Reporter,
) -> Result<Vec<String>> {
    reporter.progress("asking the server for its services (reflection)");
    ReflectionClient::new(channel.clone())
        .list_services()
        .await
        .map_err(|s| reflection_failed(endpoint, s, reporter))
}

fn reflection_failed(endpoint: &str, status: Status, reporter: &Reporter) -> Failure {
    let hint = match status.code() {
        Code::Unimplemented => format!(
            "{endpoint} does not serve gRPC reflection (grpc.reflection.v1 or v1alpha): pass the services' .proto files with --proto (and -I), or a --descriptor-set"
        ),
        Code::NotFound => format!("{endpoint}'s reflection service does not know it"),
        _ => format!("asking {endpoint}'s reflection service failed"),
    };
    reporter.status(&hint, &status, None);
    Failure::Status(status)
}
