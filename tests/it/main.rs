//! One integration-test binary (linked once): the runtime against `.wat` fixtures, the
//! kubelet and controller in process, the API over HTTP in process, and `wasmjob run` as a
//! user runs it.

mod common;
mod config;
mod controllers;
mod crash;
mod faults;
mod guest_examples;
mod hardening;
mod http;
mod kubectl;
mod kubelet;
mod run_cli;
mod runtime;
