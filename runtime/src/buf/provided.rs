//! Provided-buffer rings for multishot receive: filled in by the net work.
