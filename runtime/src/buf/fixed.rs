//! Registered (fixed) buffers: filled in by the fs work.
