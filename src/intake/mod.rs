//! intake (under construction).
