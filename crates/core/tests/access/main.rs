//! Access decisions (product.md jobs 5-7): one test binary, a module per aspect.

mod explain;
mod props;
mod rules;
