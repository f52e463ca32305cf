//! Compiles every proto under `proto/` with wren-build's defaults: protox,
//! no protoc.

fn main() -> std::io::Result<()> {
    let protos = [
        "proto/hello/v1/hello.proto",
        "proto/collide/services.proto",
        "proto/secret/v1/secret.proto",
        "proto/shim/v1/shim.proto",
        "proto/bare.proto",
    ];
    wren_build::configure()
        // Attribute passthrough to prost: serde on one package, a rename on
        // one field.
        .type_attribute(
            ".common.v1",
            "#[derive(::serde::Serialize, ::serde::Deserialize)]",
        )
        .field_attribute(".common.v1.Thing.name", "#[serde(rename = \"thingName\")]")
        .bytes([".hello.v1.Time.raw"])
        // And to the generated services.
        .server_attribute("hello.v1.Greeter", "#[derive(Default)]")
        .client_attribute(".hello.v1", "#[doc(alias = \"HelloClient\")]")
        .server_mod_attribute("collide.services.Self", "#[cfg(all())]")
        // A file that includes every package, for users without one module
        // per package.
        .include_file("_includes.rs")
        // FILE_DESCRIPTOR_SET in each package with services, for reflection.
        .emit_file_descriptor_set(true)
        .compile_protos(&protos, &["proto"])
}
