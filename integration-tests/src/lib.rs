//! End-to-end tests of the pipeline against LocalStack live in `tests/`;
//! the harness they use is `xtask`'s own deploy and observe code.
