;; A Veritask app as a WASI (preview1) module in WebAssembly text; `veritask app build`
;; compiles it. It writes "Hello, <arguments or World>!" to /iexec_out/result.txt and the
;; computed.json naming that file, and prints the greeting. The worker preopens /iexec_in
;; (read-only) and /iexec_out, and passes the IEXEC_* variables as the environment. A module
;; compiled from another language (a wasm32-wasi target) works too: set
;; entrypoint = "app.wasm" in veritask-app.toml.
;;
;; Memory (page 0): 0 iovec, 16 scratch, 64 preopen name, 1024 argv pointers, 2048 argv
;; bytes, 32768 the greeting, 61440 constant strings.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; Write len bytes at ptr to fd; exit 70 on error.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (if (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 16))
      (then (call $proc_exit (i32.const 70)))))

  (func $strlen (param $ptr i32) (result i32) (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $ptr) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))

  (func $memeq (param $a i32) (param $b i32) (param $len i32) (result i32) (local $i i32)
    (block $no (loop $next
      (if (i32.ge_u (local.get $i) (local.get $len)) (then (return (i32.const 1))))
      (br_if $no (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                         (i32.load8_u (i32.add (local.get $b) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.const 0))

  (func $copy (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  ;; The fd of the preopened directory named by (name, len); exit 71 if there is none.
  (func $preopen (param $name i32) (param $len i32) (result i32) (local $fd i32)
    (local.set $fd (i32.const 3))
    (loop $next
      (if (i32.eqz (call $fd_prestat_get (local.get $fd) (i32.const 16)))
        (then
          (if (i32.and
                (i32.eq (i32.load (i32.const 20)) (local.get $len))
                (i32.eqz (call $fd_prestat_dir_name (local.get $fd) (i32.const 64) (local.get $len))))
            (then (if (call $memeq (i32.const 64) (local.get $name) (local.get $len))
              (then (return (local.get $fd))))))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $fd) (i32.const 64))))
    (call $proc_exit (i32.const 71))
    (unreachable))

  ;; Open (create, truncate) a file under dir fd for writing; the errno as a negative result.
  (func $create (param $dir i32) (param $path i32) (param $len i32) (result i32) (local $err i32)
    (local.set $err (call $path_open (local.get $dir) (i32.const 0) (local.get $path) (local.get $len)
      (i32.const 9) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 24)))
    (if (result i32) (local.get $err)
      (then (i32.sub (i32.const 0) (local.get $err)))
      (else (i32.load (i32.const 24)))))

  ;; Write a whole file under dir fd, or exit 72.
  (func $write_file (param $dir i32) (param $path i32) (param $plen i32) (param $data i32) (param $dlen i32)
    (local $fd i32)
    (local.set $fd (call $create (local.get $dir) (local.get $path) (local.get $plen)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 72))))
    (call $write (local.get $fd) (local.get $data) (local.get $dlen))
    (drop (call $fd_close (local.get $fd))))

  ;; Load argv into memory; the argument count. Exit 73 if the arguments are too large.
  (func $load_args (result i32)
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (if (i32.or (i32.gt_u (i32.load (i32.const 16)) (i32.const 256))
                (i32.gt_u (i32.load (i32.const 20)) (i32.const 6144)))
      (then (call $proc_exit (i32.const 73))))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (i32.load (i32.const 16)))

  (func $arg (param $i i32) (result i32)
    (i32.load (i32.add (i32.const 1024) (i32.shl (local.get $i) (i32.const 2)))))

  (data (i32.const 61440) "/iexec_out")
  (data (i32.const 61456) "result.txt")
  (data (i32.const 61472) "computed.json")
  (data (i32.const 61488) "{\"deterministic-output-path\": \"/iexec_out/result.txt\"}\n")
  (data (i32.const 61568) "Hello, ")
  (data (i32.const 61584) "World")
  (data (i32.const 61600) "!\n")

  (func (export "_start") (local $argc i32) (local $i i32) (local $end i32) (local $out i32)
    (local.set $argc (call $load_args))
    (local.set $end (call $copy (i32.const 32768) (i32.const 61568) (i32.const 7)))
    (if (i32.le_u (local.get $argc) (i32.const 1))
      (then (local.set $end (call $copy (local.get $end) (i32.const 61584) (i32.const 5))))
      (else
        (local.set $i (i32.const 1))
        (loop $next
          (if (i32.gt_u (local.get $i) (i32.const 1))
            (then (i32.store8 (local.get $end) (i32.const 32))
                  (local.set $end (i32.add (local.get $end) (i32.const 1)))))
          (local.set $end (call $copy (local.get $end) (call $arg (local.get $i))
            (call $strlen (call $arg (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $argc))))))
    (local.set $end (call $copy (local.get $end) (i32.const 61600) (i32.const 1)))
    (local.set $out (call $preopen (i32.const 61440) (i32.const 10)))
    (call $write_file (local.get $out) (i32.const 61456) (i32.const 10)
      (i32.const 32768) (i32.sub (local.get $end) (i32.const 32768)))
    (call $write_file (local.get $out) (i32.const 61472) (i32.const 13) (i32.const 61488) (i32.const 55))
    (call $write (i32.const 1) (i32.const 32768) (i32.sub (local.get $end) (i32.const 32768)))
    (call $write (i32.const 1) (i32.const 61601) (i32.const 1)))
)
