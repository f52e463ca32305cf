//! [`Builder`]: what to generate and how, ending in one of the `compile_*` calls.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use prost_build::{Config, ServiceGenerator};
use prost_types::FileDescriptorSet;

use crate::generator::{DescriptorSets, Errors, Settings, WrenGenerator};

/// The default for [`Builder::wren_path`].
pub const DEFAULT_WREN_PATH: &str = "::wren_rpc";

/// Configures code generation; made by [`configure()`](crate::configure).
///
/// Setters take the builder by value and return it, so a `build.rs` is one
/// chain ending in [`compile_protos`](Builder::compile_protos),
/// [`compile_fds`](Builder::compile_fds) or
/// [`compile_with_config`](Builder::compile_with_config).
///
/// Paths given to the attribute and comment setters are prost-build's: `.`
/// selects everything, `.pkg` or `.pkg.Svc` select by fully-qualified
/// prefix, and `Svc` or `pkg.Svc` by suffix, always on whole name segments.
///
/// ```no_run
/// // build.rs
/// fn main() -> std::io::Result<()> {
///     wren_build::configure()
///         .build_client(false)
///         .server_attribute("containerd.task.v2.Task", "#[derive(Default)]")
///         .type_attribute(".", "#[derive(serde::Serialize)]")
///         .compile_protos(&["proto/shim.proto"], &["proto"])
/// }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Builder {
    build_server: bool,
    build_client: bool,
    use_protoc: bool,
    wren_path: String,
    prost_path: Option<String>,
    prost_types_path: Option<String>,
    out_dir: Option<PathBuf>,
    emit_rerun_if_changed: bool,
    server_attributes: Vec<(String, String)>,
    server_mod_attributes: Vec<(String, String)>,
    client_attributes: Vec<(String, String)>,
    client_mod_attributes: Vec<(String, String)>,
    type_attributes: Vec<(String, String)>,
    message_attributes: Vec<(String, String)>,
    enum_attributes: Vec<(String, String)>,
    field_attributes: Vec<(String, String)>,
    extern_paths: Vec<(String, String)>,
    bytes: Vec<String>,
    btree_map: Vec<String>,
    boxed: Vec<String>,
    disable_comments: Vec<String>,
    include_file: Option<PathBuf>,
    file_descriptor_set_path: Option<PathBuf>,
    emit_file_descriptor_set: bool,
    compile_well_known_types: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            build_server: true,
            build_client: true,
            use_protoc: false,
            wren_path: DEFAULT_WREN_PATH.to_owned(),
            prost_path: None,
            prost_types_path: None,
            out_dir: None,
            emit_rerun_if_changed: true,
            server_attributes: Vec::new(),
            server_mod_attributes: Vec::new(),
            client_attributes: Vec::new(),
            client_mod_attributes: Vec::new(),
            type_attributes: Vec::new(),
            message_attributes: Vec::new(),
            enum_attributes: Vec::new(),
            field_attributes: Vec::new(),
            extern_paths: Vec::new(),
            bytes: Vec::new(),
            btree_map: Vec::new(),
            boxed: Vec::new(),
            disable_comments: Vec::new(),
            include_file: None,
            file_descriptor_set_path: None,
            emit_file_descriptor_set: false,
            compile_well_known_types: false,
        }
    }
}

fn pair(a: impl AsRef<str>, b: impl AsRef<str>) -> (String, String) {
    (a.as_ref().to_owned(), b.as_ref().to_owned())
}

fn strings<I, S>(items: I) -> impl Iterator<Item = String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items.into_iter().map(|s| s.as_ref().to_owned())
}

impl Builder {
    /// Whether to generate the `<service>_server` modules: the trait to
    /// implement and the tower service that serves it. Default: `true`.
    pub fn build_server(mut self, enable: bool) -> Self {
        self.build_server = enable;
        self
    }

    /// Whether to generate the `<service>_client` modules. Default: `true`.
    pub fn build_client(mut self, enable: bool) -> Self {
        self.build_client = enable;
        self
    }

    /// Adds an attribute, such as `#[derive(Default)]`, to the generated
    /// `<Service>Server` structs of the services `path` selects.
    pub fn server_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.server_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute, such as `#[cfg(feature = "server")]`, to the
    /// generated `<service>_server` modules of the services `path` selects.
    pub fn server_mod_attribute(
        mut self,
        path: impl AsRef<str>,
        attribute: impl AsRef<str>,
    ) -> Self {
        self.server_mod_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the generated `<Service>Client` structs of the
    /// services `path` selects.
    pub fn client_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.client_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the generated `<service>_client` modules of the
    /// services `path` selects.
    pub fn client_mod_attribute(
        mut self,
        path: impl AsRef<str>,
        attribute: impl AsRef<str>,
    ) -> Self {
        self.client_mod_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the messages, enums and oneofs `path` selects:
    /// prost-build's [`Config::type_attribute`].
    ///
    /// ```no_run
    /// wren_build::configure()
    ///     .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
    ///     .compile_protos(&["proto/agent.proto"], &["proto"])?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn type_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.type_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the messages `path` selects: prost-build's
    /// [`Config::message_attribute`].
    pub fn message_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.message_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the enums and oneofs `path` selects:
    /// prost-build's [`Config::enum_attribute`].
    pub fn enum_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.enum_attributes.push(pair(path, attribute));
        self
    }

    /// Adds an attribute to the fields `path` selects: prost-build's
    /// [`Config::field_attribute`].
    pub fn field_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.field_attributes.push(pair(path, attribute));
        self
    }

    /// Uses an existing Rust type for the proto type `proto_path` instead of
    /// generating one: prost-build's [`Config::extern_path`]. This is how
    /// messages from another crate's generated code are shared.
    pub fn extern_path(mut self, proto_path: impl AsRef<str>, rust_path: impl AsRef<str>) -> Self {
        self.extern_paths.push(pair(proto_path, rust_path));
        self
    }

    /// Generates `bytes::Bytes` instead of `Vec<u8>` for the `bytes` fields
    /// `paths` select: prost-build's [`Config::bytes`]. The crate then
    /// needs `bytes` as a dependency.
    pub fn bytes<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.bytes.extend(strings(paths));
        self
    }

    /// Generates `BTreeMap` instead of `HashMap` for the map fields `paths`
    /// select: prost-build's [`Config::btree_map`].
    pub fn btree_map<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.btree_map.extend(strings(paths));
        self
    }

    /// Boxes the message fields `path` selects: prost-build's
    /// [`Config::boxed`].
    pub fn boxed(mut self, path: impl AsRef<str>) -> Self {
        self.boxed.push(path.as_ref().to_owned());
        self
    }

    /// Leaves out the proto comments of the messages, fields, services and
    /// methods `paths` select (services and methods are selected as
    /// `.pkg.Svc` and `.pkg.Svc.Method`). Useful when comments hold text
    /// that rustdoc would run as doc tests.
    pub fn disable_comments<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.disable_comments.extend(strings(paths));
        self
    }

    /// Also writes a file of that name into the output directory that
    /// includes every generated package in nested modules:
    /// prost-build's [`Config::include_file`].
    pub fn include_file(mut self, path: impl AsRef<Path>) -> Self {
        self.include_file = Some(path.as_ref().to_owned());
        self
    }

    /// Also writes the encoded `FileDescriptorSet` of the compiled files
    /// (with their imports and source info) to `path`, for reflection or
    /// for tools.
    pub fn file_descriptor_set_path(mut self, path: impl AsRef<Path>) -> Self {
        self.file_descriptor_set_path = Some(path.as_ref().to_owned());
        self
    }

    /// Whether each generated package that declares a service also gets
    /// `pub const FILE_DESCRIPTOR_SET: &[u8]`: the encoded
    /// `google.protobuf.FileDescriptorSet` of the package's files and of
    /// every file they import (well-known types included), without source
    /// info. Register it with a reflection service
    /// (`wren_reflection::Builder::register_encoded_file_descriptor_set`) so
    /// that tools such as `wren list` and `wren call` need no `.proto` files.
    /// A constant costs nothing in a binary that does not use it.
    /// Default: `false`.
    ///
    /// ```no_run
    /// // build.rs
    /// wren_build::configure()
    ///     .emit_file_descriptor_set(true)
    ///     .compile_protos(&["proto/hello/v1/hello.proto"], &["proto"])?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn emit_file_descriptor_set(mut self, enable: bool) -> Self {
        self.emit_file_descriptor_set = enable;
        self
    }

    /// Generates the `google.protobuf` types too instead of using
    /// `prost-types`: prost-build's [`Config::compile_well_known_types`].
    /// Default: `false`.
    pub fn compile_well_known_types(mut self, enable: bool) -> Self {
        self.compile_well_known_types = enable;
        self
    }

    /// Whether [`compile_protos`](Builder::compile_protos) runs an installed
    /// `protoc` (found through the `PROTOC` environment variable or on
    /// `PATH`, as prost-build finds it) instead of compiling the files in
    /// process with protox. Default: `false`, so no `protoc` is needed.
    pub fn use_protoc(mut self, enable: bool) -> Self {
        self.use_protoc = enable;
        self
    }

    /// The path generated code reaches wren by. Set it when wren is
    /// re-exported from another crate or renamed in `Cargo.toml`.
    /// Default: [`DEFAULT_WREN_PATH`], `::wren_rpc`.
    pub fn wren_path(mut self, path: impl AsRef<str>) -> Self {
        self.wren_path = path.as_ref().to_owned();
        self
    }

    /// The path generated messages reach prost by. Default: wren's
    /// re-export, `<wren_path>::prost`, so a crate needs no direct `prost`
    /// dependency. Set `"::prost"` to use the crate's own.
    pub fn prost_path(mut self, path: impl AsRef<str>) -> Self {
        self.prost_path = Some(path.as_ref().to_owned());
        self
    }

    /// The path generated messages reach the well-known types
    /// (`google.protobuf.Timestamp`, ...) by. Default: wren's re-export,
    /// `<wren_path>::prost_types`. Set `"::prost_types"` to use the crate's
    /// own.
    pub fn prost_types_path(mut self, path: impl AsRef<str>) -> Self {
        self.prost_types_path = Some(path.as_ref().to_owned());
        self
    }

    /// Where to write the generated files. Default: `$OUT_DIR`, which is
    /// where [`include_proto!`](https://docs.rs/wren-rpc/latest/wren_rpc/macro.include_proto.html)
    /// looks.
    pub fn out_dir(mut self, path: impl AsRef<Path>) -> Self {
        self.out_dir = Some(path.as_ref().to_owned());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every `.proto` file
    /// read (the files given and every file they import), so that Cargo
    /// reruns the build script when one changes and only then. Default:
    /// `true`; turn it off outside build scripts.
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.emit_rerun_if_changed = enable;
        self
    }

    /// Compiles `protos`, looking up imports in `includes`, into one Rust
    /// file per proto package: messages from prost, services from wren.
    ///
    /// The `.proto` files are parsed in process by protox unless
    /// [`use_protoc`](Builder::use_protoc) is set. The well-known
    /// `google/protobuf/*.proto` files are always available to import.
    ///
    /// # Errors
    ///
    /// If a file cannot be read or does not compile, an attribute does not
    /// parse, or two methods of one service get the same Rust name.
    pub fn compile_protos(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<()> {
        self.compile_with_config(Config::new(), protos, includes)
    }

    /// Like [`compile_protos`](Builder::compile_protos), starting from a
    /// prost-build [`Config`] of the caller's own: its settings are kept and
    /// this builder's are added, except that the service generator and the
    /// prost paths are this builder's (set [`prost_path`](Builder::prost_path)
    /// and [`prost_types_path`](Builder::prost_types_path) here).
    ///
    /// # Errors
    ///
    /// As [`compile_protos`](Builder::compile_protos).
    pub fn compile_with_config(
        self,
        mut config: Config,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<()> {
        let (errors, sets) = self.configure(&mut config)?;
        let fds = if self.use_protoc {
            let fds = config.load_fds(protos, includes)?;
            if self.emit_rerun_if_changed {
                for file in &fds.file {
                    let name = file.name();
                    if let Some(path) = includes
                        .iter()
                        .map(|dir| dir.as_ref().join(name))
                        .find(|path| path.is_file())
                    {
                        rerun_if_changed(&path);
                    }
                }
            }
            fds
        } else {
            self.load_with_protox(protos, includes)?
        };
        self.fill_descriptor_sets(&sets, &fds);
        config.compile_fds(fds)?;
        check(&errors)
    }

    /// Generates code from an already compiled `FileDescriptorSet`, such as
    /// one from `protox::compile` or `protoc --include_imports
    /// --include_source_info -o`. It must hold every imported file too.
    ///
    /// # Errors
    ///
    /// As [`compile_protos`](Builder::compile_protos), less the parsing.
    pub fn compile_fds(self, fds: FileDescriptorSet) -> Result<()> {
        let mut config = Config::new();
        let (errors, sets) = self.configure(&mut config)?;
        self.fill_descriptor_sets(&sets, &fds);
        config.compile_fds(fds)?;
        check(&errors)
    }

    /// The service generator alone, for a build script that drives
    /// prost-build itself: pass it to [`Config::service_generator`]. Only
    /// the service settings apply (servers, clients, their attributes,
    /// [`wren_path`](Builder::wren_path), comments); a problem found while
    /// generating becomes a `compile_error!` in the generated code.
    ///
    /// # Errors
    ///
    /// If an attribute does not parse.
    pub fn service_generator(self) -> Result<Box<dyn ServiceGenerator>> {
        let settings = self.settings()?;
        Ok(Box::new(WrenGenerator::new(settings, Errors::default())))
    }

    fn settings(&self) -> Result<Settings> {
        let codegen = syn::parse_str::<syn::Path>(&format!("{}::codegen", self.wren_path))
            .map_err(|e| invalid(format!("wren_path `{}`: {e}", self.wren_path)))?;
        Ok(Settings {
            build_server: self.build_server,
            build_client: self.build_client,
            codegen,
            server_attributes: parse_attributes(&self.server_attributes)?,
            server_mod_attributes: parse_attributes(&self.server_mod_attributes)?,
            client_attributes: parse_attributes(&self.client_attributes)?,
            client_mod_attributes: parse_attributes(&self.client_mod_attributes)?,
            disable_comments: self.disable_comments.clone(),
        })
    }

    /// Applies every setting to `config` and installs the generator.
    fn configure(&self, config: &mut Config) -> Result<(Errors, DescriptorSets)> {
        let errors = Errors::default();
        let sets = DescriptorSets::default();
        let generator = WrenGenerator::new(self.settings()?, Rc::clone(&errors))
            .with_descriptor_sets(Rc::clone(&sets));
        config.service_generator(Box::new(generator));
        let prost_path = self
            .prost_path
            .clone()
            .unwrap_or_else(|| format!("{}::prost", self.wren_path));
        let prost_types_path = self
            .prost_types_path
            .clone()
            .unwrap_or_else(|| format!("{}::prost_types", self.wren_path));
        config.prost_path(prost_path);
        config.prost_types_path(prost_types_path);
        if let Some(dir) = &self.out_dir {
            config.out_dir(dir);
        }
        for (path, attribute) in &self.type_attributes {
            config.type_attribute(path, attribute);
        }
        for (path, attribute) in &self.message_attributes {
            config.message_attribute(path, attribute);
        }
        for (path, attribute) in &self.enum_attributes {
            config.enum_attribute(path, attribute);
        }
        for (path, attribute) in &self.field_attributes {
            config.field_attribute(path, attribute);
        }
        for (proto, rust) in &self.extern_paths {
            config.extern_path(proto, rust);
        }
        if !self.bytes.is_empty() {
            config.bytes(&self.bytes);
        }
        if !self.btree_map.is_empty() {
            config.btree_map(&self.btree_map);
        }
        for path in &self.boxed {
            config.boxed(path);
        }
        if !self.disable_comments.is_empty() {
            config.disable_comments(&self.disable_comments);
        }
        if let Some(path) = &self.include_file {
            config.include_file(path);
        }
        if let Some(path) = &self.file_descriptor_set_path {
            // Used by prost-build when it runs protoc; protox writes it below.
            config.file_descriptor_set_path(path);
        }
        if self.compile_well_known_types {
            config.compile_well_known_types();
        }
        Ok((errors, sets))
    }

    /// With [`emit_file_descriptor_set`](Builder::emit_file_descriptor_set),
    /// the encoded set of each package: its files and everything they
    /// import, in the order of `fds` (imports first).
    fn fill_descriptor_sets(&self, sets: &DescriptorSets, fds: &FileDescriptorSet) {
        use prost::Message as _;
        if !self.emit_file_descriptor_set {
            return;
        }
        let by_name: HashMap<&str, &prost_types::FileDescriptorProto> =
            fds.file.iter().map(|f| (f.name(), f)).collect();
        let packages: HashSet<&str> = fds.file.iter().map(|f| f.package()).collect();
        let mut sets = sets.borrow_mut();
        for package in packages {
            let mut wanted: HashSet<&str> = HashSet::new();
            let mut pending: Vec<&str> = fds
                .file
                .iter()
                .filter(|f| f.package() == package)
                .map(|f| f.name())
                .collect();
            while let Some(name) = pending.pop() {
                if wanted.insert(name) {
                    if let Some(file) = by_name.get(name) {
                        pending.extend(file.dependency.iter().map(String::as_str));
                    }
                }
            }
            let file = fds
                .file
                .iter()
                .filter(|f| wanted.contains(f.name()))
                .map(|f| prost_types::FileDescriptorProto {
                    source_code_info: None,
                    ..f.clone()
                })
                .collect();
            let set = FileDescriptorSet { file };
            sets.insert(package.to_owned(), set.encode_to_vec());
        }
    }

    fn load_with_protox(
        &self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<FileDescriptorSet> {
        let mut compiler = protox::Compiler::new(includes).map_err(protox_error)?;
        compiler.include_imports(true).include_source_info(true);
        compiler.open_files(protos).map_err(protox_error)?;
        if self.emit_rerun_if_changed {
            // The well-known types built into protox have no path.
            for path in compiler.files().filter_map(|file| file.path()) {
                rerun_if_changed(path);
            }
        }
        if let Some(path) = &self.file_descriptor_set_path {
            std::fs::write(path, compiler.encode_file_descriptor_set())?;
        }
        Ok(compiler.file_descriptor_set())
    }
}

fn rerun_if_changed(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

fn parse_attributes(list: &[(String, String)]) -> Result<Vec<(String, Vec<syn::Attribute>)>> {
    use syn::parse::Parser;
    list.iter()
        .map(|(path, attribute)| {
            syn::Attribute::parse_outer
                .parse_str(attribute)
                .map(|attrs| (path.clone(), attrs))
                .map_err(|e| invalid(format!("attribute `{attribute}` for `{path}`: {e}")))
        })
        .collect()
}

fn check(errors: &RefCell<Vec<String>>) -> Result<()> {
    let errors = errors.borrow();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(errors.join("; ")))
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

fn protox_error(error: protox::Error) -> Error {
    // Debug carries the file, line and column.
    let kind = if error.is_file_not_found() {
        ErrorKind::NotFound
    } else {
        ErrorKind::InvalidInput
    };
    Error::new(kind, format!("{error:?}"))
}
