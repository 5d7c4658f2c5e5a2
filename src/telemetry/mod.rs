//! telemetry (under construction).
