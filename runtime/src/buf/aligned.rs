//! Aligned buffers for O_DIRECT: filled in by the fs work.
