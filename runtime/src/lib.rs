//! ringbolt runtime
