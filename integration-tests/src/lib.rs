//! End-to-end tests of the pipeline against LocalStack.
