//! Prints the time from spawning `sandbox serve` until its first line (the endpoints) is ready.
//! Target: under 2 s.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let runs = 5;
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = match Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                eprintln!("cannot start sandbox serve: {error}");
                std::process::exit(1);
            }
        };
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let elapsed = started.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        if line.trim().is_empty() {
            eprintln!("sandbox serve printed no endpoints line");
            std::process::exit(1);
        }
        times.push(elapsed);
    }
    times.sort();
    println!(
        "sandbox serve: endpoints line ready in min {:?}, median {:?}, max {:?} over {runs} runs (target < 2 s)",
        times[0],
        times[runs / 2],
        times[runs - 1]
    );
}
