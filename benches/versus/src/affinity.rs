//! CPU pinning and the list of online CPUs.

use std::io;

/// Pins the calling thread to `cpus` (threads it creates afterwards inherit the mask).
///
/// # Errors
/// Fails when a CPU number is out of range or the kernel refuses the mask.
pub fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bitmask for which all-zero bytes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let limit = 8 * std::mem::size_of::<libc::cpu_set_t>();
    for &cpu in cpus {
        if cpu >= limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is out of range"),
            ));
        }
        // SAFETY: `cpu` < the bit size of `set`, checked above.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: `set` is a valid, initialised cpu_set_t and its size is passed alongside it.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPUs this process may run on, in ascending order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: all-zero bytes is the empty cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is writable and its size is passed alongside it.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return vec![0];
    }
    let limit = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: every index is below the bit size of `set`.
    (0..limit)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// The load generator's cores: the explicit list, else every allowed CPU not serving, else
/// (one-CPU machines) the server cores themselves.
pub fn client_cores(server: &[usize], explicit: Option<&[usize]>) -> Vec<usize> {
    if let Some(c) = explicit {
        return c.to_vec();
    }
    let rest: Vec<usize> = allowed_cpus()
        .into_iter()
        .filter(|c| !server.contains(c))
        .collect();
    if rest.is_empty() {
        server.to_vec()
    } else {
        rest
    }
}
