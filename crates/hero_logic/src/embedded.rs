//! Files compiled into the daemon: the seed logics and the Python SDK.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
