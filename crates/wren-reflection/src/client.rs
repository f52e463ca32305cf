//! [`ReflectionClient`]: file descriptors fetched from a reflection server.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use prost::Message;
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tower_service::Service;
use wren_client::{Channel, Client};
use wren_transport::codec::{Code, Status};
use wren_transport::{Body, BoxError, Request, Response};

use crate::pb::server_reflection_request::MessageRequest;
use crate::pb::server_reflection_response::MessageResponse;
use crate::pb::{ServerReflectionRequest, ServerReflectionResponse};
use crate::{METHOD, SERVICE_NAME_V1, SERVICE_NAME_V1ALPHA};

/// The most files [`ReflectionClient::file_descriptor_set`] fetches, so a
/// misbehaving server cannot keep it asking forever.
const MAX_FILES: usize = 10_000;

/// Asks a server's reflection service (`grpc.reflection.v1`, or
/// `v1alpha` when the server has only that) what it serves.
///
/// Each question is one `ServerReflectionInfo` call carrying one request.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use wren_reflection::ReflectionClient;
///
/// let channel = wren_client::Channel::connect("unix:///run/demo.sock").await?;
/// let mut reflection = ReflectionClient::new(channel);
/// let services = reflection.list_services().await?;
/// let set = reflection.file_descriptor_set(&services).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ReflectionClient<S = Channel> {
    client: Client<S>,
    service: &'static str,
    fell_back: bool,
}

impl<S> ReflectionClient<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
{
    /// A client over `channel` (or any service of ttrpc bodies).
    pub fn new(channel: S) -> ReflectionClient<S> {
        ReflectionClient {
            client: Client::new(channel),
            service: SERVICE_NAME_V1,
            fell_back: false,
        }
    }

    /// The full name of the reflection service this client asks: v1 until
    /// the server answered `UNIMPLEMENTED` for it, v1alpha after.
    pub fn service_name(&self) -> &'static str {
        self.service
    }

    /// The names of the services the server lists.
    ///
    /// # Errors
    ///
    /// The call's status (`UNIMPLEMENTED` when the server serves neither
    /// version), or the server's `error_response` as a status.
    pub async fn list_services(&mut self) -> Result<Vec<String>, Status> {
        match self
            .ask(MessageRequest::ListServices(String::new()))
            .await?
        {
            MessageResponse::ListServicesResponse(list) => {
                Ok(list.service.into_iter().map(|s| s.name).collect())
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The file named `name` and the imports the server sent with it.
    ///
    /// # Errors
    ///
    /// As [`list_services`](ReflectionClient::list_services); a file the
    /// server does not have is `NOT_FOUND`.
    pub async fn file_by_filename(
        &mut self,
        name: &str,
    ) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files(MessageRequest::FileByFilename(name.to_owned()))
            .await
    }

    /// The file declaring `symbol` (a service, method, message, enum or
    /// field, fully qualified) and the imports the server sent with it.
    ///
    /// # Errors
    ///
    /// As [`file_by_filename`](ReflectionClient::file_by_filename).
    pub async fn file_containing_symbol(
        &mut self,
        symbol: &str,
    ) -> Result<Vec<FileDescriptorProto>, Status> {
        self.files(MessageRequest::FileContainingSymbol(symbol.to_owned()))
            .await
    }

    /// A complete set for `symbols`: the files declaring them and every
    /// file those import, directly or not, fetched by name where the
    /// server did not send them along. Files come imports first, ready
    /// for `prost_reflect::DescriptorPool::from_file_descriptor_set`.
    ///
    /// # Errors
    ///
    /// As [`file_by_filename`](ReflectionClient::file_by_filename); also
    /// `RESOURCE_EXHAUSTED` past 10,000 files.
    pub async fn file_descriptor_set<I>(&mut self, symbols: I) -> Result<FileDescriptorSet, Status>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut files: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
        for symbol in symbols {
            for file in self.file_containing_symbol(symbol.as_ref()).await? {
                files.entry(file.name().to_owned()).or_insert(file);
            }
        }
        loop {
            let missing: BTreeSet<String> = files
                .values()
                .flat_map(|f| f.dependency.iter())
                .filter(|d| !files.contains_key(*d))
                .cloned()
                .collect();
            if missing.is_empty() {
                break;
            }
            for name in missing {
                if files.len() >= MAX_FILES {
                    return Err(Status::resource_exhausted(format!(
                        "the server's files import more than {MAX_FILES} files"
                    )));
                }
                let fetched = self.file_by_filename(&name).await?;
                if !fetched.iter().any(|f| f.name() == name) {
                    return Err(Status::not_found(format!(
                        "the server did not send the file {name:?}"
                    )));
                }
                for file in fetched {
                    files.entry(file.name().to_owned()).or_insert(file);
                }
            }
        }
        Ok(FileDescriptorSet {
            file: imports_first(files),
        })
    }

    async fn files(&mut self, request: MessageRequest) -> Result<Vec<FileDescriptorProto>, Status> {
        match self.ask(request).await? {
            MessageResponse::FileDescriptorResponse(files) => files
                .file_descriptor_proto
                .iter()
                .map(|bytes| {
                    FileDescriptorProto::decode(bytes.as_slice()).map_err(|e| {
                        Status::internal(format!("the server sent a bad file descriptor: {e}"))
                    })
                })
                .collect(),
            other => Err(unexpected(&other)),
        }
    }

    /// One request, one response; falls back to v1alpha once.
    async fn ask(&mut self, request: MessageRequest) -> Result<MessageResponse, Status> {
        match self.ask_once(request.clone()).await {
            Err(status) if status.code() == Code::Unimplemented && !self.fell_back => {
                self.fell_back = true;
                self.service = SERVICE_NAME_V1ALPHA;
                self.ask_once(request).await
            }
            result => {
                self.fell_back = true;
                result
            }
        }
    }

    async fn ask_once(&mut self, request: MessageRequest) -> Result<MessageResponse, Status> {
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        };
        let mut replies = self
            .client
            .streaming::<_, _, ServerReflectionResponse>(
                Request::new(futures_util::stream::iter([request])),
                self.service,
                METHOD,
            )
            .await?
            .into_inner();
        let reply = replies
            .next()
            .await
            .ok_or_else(|| Status::internal("the reflection stream ended without a response"))??;
        match reply.message_response {
            Some(MessageResponse::ErrorResponse(e)) => {
                Err(Status::new(Code::from_i32(e.error_code), e.error_message))
            }
            Some(response) => Ok(response),
            None => Err(Status::internal(
                "the reflection server sent an empty response",
            )),
        }
    }
}

fn unexpected(response: &MessageResponse) -> Status {
    let what = match response {
        MessageResponse::FileDescriptorResponse(_) => "file descriptors",
        MessageResponse::AllExtensionNumbersResponse(_) => "extension numbers",
        MessageResponse::ListServicesResponse(_) => "a service list",
        MessageResponse::ErrorResponse(_) => "an error",
    };
    Status::internal(format!("the reflection server answered with {what}"))
}

/// The files ordered so that each comes after every file it imports.
fn imports_first(mut files: BTreeMap<String, FileDescriptorProto>) -> Vec<FileDescriptorProto> {
    let mut out = Vec::with_capacity(files.len());
    let names: Vec<String> = files.keys().cloned().collect();
    for name in names {
        visit(&name, &mut files, &mut out);
    }
    out
}

fn visit(
    name: &str,
    files: &mut BTreeMap<String, FileDescriptorProto>,
    out: &mut Vec<FileDescriptorProto>,
) {
    // Taken out before its imports are visited, so an import cycle ends.
    let Some(file) = files.remove(name) else {
        return;
    };
    for dep in &file.dependency {
        visit(dep, files, out);
    }
    out.push(file);
}
