//! One harness per kind of source. A new kind (sql, scim) adds its
//! module here and one line to the `suite!` invocation in `main.rs`.

pub mod http;
pub mod memory;
pub mod soap;
