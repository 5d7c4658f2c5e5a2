//! End-to-end tests of the simulator over real sockets: its REST API, and
//! whole calls (outbound and inbound) against an in-test webhook receiver
//! that checks signatures.

mod amd;
mod exotel;
mod flow;
mod harness;
mod inbound;
mod rest;
