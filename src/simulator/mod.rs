//! simulator (under construction).
