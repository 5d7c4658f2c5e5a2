//! webhook (under construction).
