//! The exec stub: a freestanding x86-64 Linux program of about 1.5 KiB that
//! forks once, execs the workload in the child, and exits. It is not a
//! module of memgate: `build.rs` compiles it with `rustc` into a static
//! executable that memgate carries in its own binary (`include_bytes!`),
//! and the launcher runs it from a memfd (see `runner::launch`).
//!
//! Why it exists: Linux folds the high-water mark of a process's old
//! address space into its `ru_maxrss` at every execve, and the fold
//! persists in the process for life (fs/exec.c, `exec_mmap` calls
//! `setmax_mm_hiwater_rss` on the old mm; getrusage(2): "resource usage
//! metrics are preserved across an execve(2)"). A workload spawned by the
//! launcher therefore reads at least the launcher's resident memory, 3 MiB
//! under a release build of memgate and 9 MiB under a debug build. A
//! process made by fork(2) gets new accounting, and its copied address
//! space holds only what the forking process had written (kernel/fork.c,
//! `dup_mm` sets `hiwater_rss` to the copy's RSS). Forked from this stub,
//! whose written memory is a page or two of stack, the workload's peak is
//! its own, whatever memgate was built as.
//!
//! Protocol: `stub PATH ARGV0 ARGS...`, file descriptor 3 the write end of
//! the launcher's pipe. The stub writes the child's PID (a native-endian
//! i32) to it and exits 0; the child makes a process group of its own
//! (setpgid(0, 0), so its PID is its group's), marks descriptor 3
//! close-on-exec and execs PATH with `ARGV0 ARGS...` and the stub's environment; if the exec
//! (or the setpgid) fails it writes the negated errno and exits 127. A fork that fails
//! writes the negated errno from the stub, which exits 126. The launcher
//! reads to end of file (both writers gone) and, being a child subreaper
//! (PR_SET_CHILD_SUBREAPER), inherits the orphaned child and waits for it.

#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(125)
}

// The kernel starts a static program with the stack pointer at argc,
// followed by argv, a null, envp, a null (the System V x86-64 psABI,
// "Process Initialization"). Pass that pointer to `main`, with the stack
// aligned to 16 bytes as a call expects.
global_asm!(
    ".globl _start",
    "_start:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym main,
);

// x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const SYS_WRITE: usize = 1;
const SYS_CLONE: usize = 56;
const SYS_EXECVE: usize = 59;
const SYS_FCNTL: usize = 72;
const SYS_SETPGID: usize = 109;
const SYS_EXIT_GROUP: usize = 231;
const SIGCHLD: usize = 17;
const F_SETFD: usize = 2;
const FD_CLOEXEC: usize = 1;
/// The launcher's pipe.
const REPORT_FD: usize = 3;

/// A raw system call with up to five arguments; returns the kernel's value
/// (a negated errno on failure).
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the caller passes arguments valid for system call `n`; the
    // syscall instruction clobbers rcx and r11 only.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            in("r8") e,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn exit(code: usize) -> ! {
    // SAFETY: exit_group takes a status and does not return.
    unsafe { syscall(SYS_EXIT_GROUP, code, 0, 0, 0, 0) };
    loop {}
}

/// Writes one i32 to the launcher's pipe (4 bytes, under PIPE_BUF, so the
/// write is whole: pipe(7)).
fn report(value: i32) {
    let bytes = value.to_ne_bytes();
    // SAFETY: the buffer is valid for 4 bytes.
    unsafe { syscall(SYS_WRITE, REPORT_FD, bytes.as_ptr() as usize, 4, 0, 0) };
}

unsafe extern "C" fn main(sp: *const usize) -> ! {
    // SAFETY: `sp` is the initial stack pointer, laid out as above.
    let (argc, argv) = unsafe { (*sp, sp.add(1)) };
    if argc < 3 {
        exit(125);
    }
    // fork(2) as clone(SIGCHLD, 0, ...): a new process, new accounting.
    // SAFETY: clone without CLONE_VM copies the address space.
    let pid = unsafe { syscall(SYS_CLONE, SIGCHLD, 0, 0, 0, 0) };
    if pid < 0 {
        report(pid as i32);
        exit(126);
    }
    if pid == 0 {
        // SAFETY: argv[1] is the path, argv[2..] the new argv (null
        // terminated), and envp follows argv's null.
        let err = unsafe {
            let envp = argv.add(argc + 1);
            match syscall(SYS_SETPGID, 0, 0, 0, 0, 0) {
                0 => {
                    syscall(SYS_FCNTL, REPORT_FD, F_SETFD, FD_CLOEXEC, 0, 0);
                    syscall(SYS_EXECVE, *argv.add(1), argv.add(2) as usize, envp as usize, 0, 0)
                }
                err => err,
            }
        };
        report(err as i32);
        exit(127);
    }
    report(pid as i32);
    exit(0)
}
