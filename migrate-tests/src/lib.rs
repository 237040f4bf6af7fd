//! Nothing to use: this package holds the tests and benchmarks of `migrate`
//! that need proptest, trybuild or criterion (`tests/`, `benches/`), so that
//! building the facade's examples does not build those.
