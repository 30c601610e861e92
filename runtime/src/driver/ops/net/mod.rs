//! Socket opcodes (accept, connect, send, recv, ...): filled in by the net work.
