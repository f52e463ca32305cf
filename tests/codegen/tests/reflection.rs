//! wren-build's `FILE_DESCRIPTOR_SET` constant, served by the reflection
//! service: a client rebuilds the generated services' descriptors from it,
//! imports across packages and well-known types included.

use codegen_tests::hello::v1 as hello;
use wren_reflection::{Builder, ReflectionClient};

#[tokio::test(flavor = "current_thread")]
async fn the_generated_descriptor_set_describes_the_services() {
    let reflection = Builder::new()
        .register_encoded_file_descriptor_set(hello::FILE_DESCRIPTOR_SET)
        .build_v1()
        .unwrap();
    // A service is a client's channel: the reflection server, in memory.
    let mut client = ReflectionClient::new(reflection);
    let services = client.list_services().await.unwrap();
    assert_eq!(
        services,
        [
            "grpc.reflection.v1.ServerReflection",
            "hello.v1.Clock",
            "hello.v1.Greeter"
        ]
    );
    let set = client
        .file_descriptor_set(["hello.v1.Greeter"])
        .await
        .unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    for file in [
        "hello/v1/hello.proto",
        "common/v1/common.proto",
        "google/protobuf/empty.proto",
        "google/protobuf/timestamp.proto",
    ] {
        assert!(names.contains(&file), "{file} missing from {names:?}");
    }
    let pool = prost_reflect::DescriptorPool::from_file_descriptor_set(set).unwrap();
    let greeter = pool.get_service_by_name("hello.v1.Greeter").unwrap();
    let get_thing = greeter.methods().find(|m| m.name() == "get_thing").unwrap();
    assert_eq!(get_thing.output().full_name(), "common.v1.Thing");
}
