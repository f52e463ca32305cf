//! [`Index`]: registered file descriptors, looked up by file name, symbol
//! and extension, as the reflection protocol asks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use bytes::Bytes;
use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet};

/// A descriptor set that could not be registered.
#[derive(Debug)]
pub struct Error {
    message: String,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// One registered file: what it imports, and its encoding as sent.
#[derive(Debug)]
struct File {
    dependencies: Vec<String>,
    encoded: Bytes,
}

/// Every registered file, with the symbols and extensions each declares.
#[derive(Debug, Default)]
pub(crate) struct Index {
    files: HashMap<String, File>,
    /// Fully-qualified symbol (no leading dot) to the file declaring it.
    symbols: HashMap<String, String>,
    /// (extendee, field number) to the file declaring the extension.
    extensions: HashMap<(String, i32), String>,
    services: BTreeSet<String>,
}

impl Index {
    /// Adds every file of `set`. A file already registered under the same
    /// name must be identical.
    pub(crate) fn add_set(&mut self, set: FileDescriptorSet) -> Result<(), Error> {
        for file in set.file {
            self.add_file(file)?;
        }
        Ok(())
    }

    fn add_file(&mut self, file: FileDescriptorProto) -> Result<(), Error> {
        let name = file.name().to_owned();
        let encoded = Bytes::from(file.encode_to_vec());
        if let Some(existing) = self.files.get(&name) {
            if existing.encoded == encoded {
                return Ok(());
            }
            return Err(Error::new(format!(
                "two different descriptors of the file {name:?}"
            )));
        }
        let package = file.package();
        let mut symbols = Vec::new();
        for message in &file.message_type {
            message_symbols(package, message, &mut symbols, &mut |extendee, number| {
                self.extensions.insert((extendee, number), name.clone());
            });
        }
        for e in &file.enum_type {
            enum_symbols(package, e, &mut symbols);
        }
        for service in &file.service {
            let full = qualify(package, service.name());
            for method in &service.method {
                symbols.push(qualify(&full, method.name()));
            }
            self.services.insert(full.clone());
            symbols.push(full);
        }
        for extension in &file.extension {
            symbols.push(qualify(package, extension.name()));
            let extendee = extension.extendee().trim_start_matches('.').to_owned();
            self.extensions
                .insert((extendee, extension.number()), name.clone());
        }
        for symbol in symbols {
            self.symbols.entry(symbol).or_insert_with(|| name.clone());
        }
        self.files.insert(
            name,
            File {
                dependencies: file.dependency,
                encoded,
            },
        );
        Ok(())
    }

    /// The names of the services declared, sorted.
    pub(crate) fn services(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(String::as_str)
    }

    /// The file declaring `symbol`.
    pub(crate) fn file_of_symbol(&self, symbol: &str) -> Option<&str> {
        self.symbols
            .get(symbol.trim_start_matches('.'))
            .map(String::as_str)
    }

    /// The file declaring extension `number` of `extendee`.
    pub(crate) fn file_of_extension(&self, extendee: &str, number: i32) -> Option<&str> {
        self.extensions
            .get(&(extendee.trim_start_matches('.').to_owned(), number))
            .map(String::as_str)
    }

    /// The field numbers of every extension of `extendee`, sorted; `None`
    /// for a type that is not a registered message.
    pub(crate) fn extension_numbers(&self, extendee: &str) -> Option<Vec<i32>> {
        let extendee = extendee.trim_start_matches('.');
        self.symbols.get(extendee)?;
        let mut numbers: Vec<i32> = self
            .extensions
            .keys()
            .filter(|(e, _)| e == extendee)
            .map(|&(_, n)| n)
            .collect();
        numbers.sort_unstable();
        Some(numbers)
    }

    /// The encoded file `name`, then every file it imports, directly or
    /// not, each once, skipping those in `sent` (and adding the rest to it).
    /// `None` if `name` is not registered.
    pub(crate) fn file_with_imports(
        &self,
        name: &str,
        sent: &mut HashSet<String>,
    ) -> Option<Vec<Bytes>> {
        let file = self.files.get(name)?;
        let mut out = Vec::new();
        // The file asked for always goes out, even if sent before.
        sent.insert(name.to_owned());
        out.push(file.encoded.clone());
        let mut pending: Vec<&str> = file.dependencies.iter().map(String::as_str).collect();
        while let Some(dep) = pending.pop() {
            if !sent.insert(dep.to_owned()) {
                continue;
            }
            // An import that was never registered is left for the client
            // to report.
            if let Some(file) = self.files.get(dep) {
                out.push(file.encoded.clone());
                pending.extend(file.dependencies.iter().map(String::as_str));
            }
        }
        Some(out)
    }
}

fn qualify(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_owned()
    } else {
        format!("{scope}.{name}")
    }
}

fn message_symbols(
    scope: &str,
    message: &DescriptorProto,
    out: &mut Vec<String>,
    on_extension: &mut impl FnMut(String, i32),
) {
    let full = qualify(scope, message.name());
    for field in &message.field {
        out.push(qualify(&full, field.name()));
    }
    for oneof in &message.oneof_decl {
        out.push(qualify(&full, oneof.name()));
    }
    for extension in &message.extension {
        out.push(qualify(&full, extension.name()));
        on_extension(
            extension.extendee().trim_start_matches('.').to_owned(),
            extension.number(),
        );
    }
    for nested in &message.nested_type {
        message_symbols(&full, nested, out, on_extension);
    }
    for e in &message.enum_type {
        enum_symbols(&full, e, out);
    }
    out.push(full);
}

/// An enum and its values; as in C++, values are siblings of their enum.
fn enum_symbols(scope: &str, e: &EnumDescriptorProto, out: &mut Vec<String>) {
    out.push(qualify(scope, e.name()));
    for value in &e.value {
        out.push(qualify(scope, value.name()));
    }
}
