//! Redis backend (see `Store`).
