//! In-memory backend (see `Store`).
