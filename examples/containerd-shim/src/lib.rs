//! tmp
#[cfg(not(containerd_protos_missing))]
pub mod api {
    #![allow(missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/containerd.rs"));
}
