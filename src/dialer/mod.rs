//! dialer (under construction).
