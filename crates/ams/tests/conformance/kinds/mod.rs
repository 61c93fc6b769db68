//! One harness per kind of source. A new kind (sql, soap, scim) adds its
//! module here and one line to the `suite!` invocation in `main.rs`.

pub mod http;
pub mod memory;
