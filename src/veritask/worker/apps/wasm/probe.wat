  ;; probe (wasm): argv[1] picks a failure, for the runtime tests.
  ;;   exit3: message on stderr, exit 3      spin: loop forever
  ;;   grow: grow memory one page at a time until refused, then trap
  ;;   flood: write 64 KiB chunks to /iexec_out/flood.bin forever
  ;;   chatter: write 1 024 chunks of 64 KiB (64 MiB) on stdout, then exit 0
  ;;   inodes: create 20 000 empty files /iexec_out/eNNNNN, then exit 0
  ;;   write-input: try to create /iexec_in/x; exit 0 if refused, 1 if it worked
  (data (i32.const 61440) "/iexec_out")
  (data (i32.const 61456) "flood.bin")
  (data (i32.const 61472) "/iexec_in")
  (data (i32.const 61488) "x")
  (data (i32.const 61504) "probe: failing on purpose\n")
  (data (i32.const 61536) "probe: unknown mode\n")

  (func (export "_start") (local $mode i32) (local $fd i32)
    (if (i32.lt_u (call $load_args) (i32.const 2))
      (then (call $write (i32.const 2) (i32.const 61536) (i32.const 20)) (call $proc_exit (i32.const 2))))
    (local.set $mode (i32.load8_u (call $arg (i32.const 1))))
    (if (i32.eq (local.get $mode) (i32.const 101)) ;; e
      (then (call $write (i32.const 2) (i32.const 61504) (i32.const 26)) (call $proc_exit (i32.const 3))))
    (if (i32.eq (local.get $mode) (i32.const 115)) ;; s
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $mode) (i32.const 103)) ;; g
      (then (loop $more
        (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (unreachable)))
    (if (i32.eq (local.get $mode) (i32.const 102)) ;; f
      (then
        (local.set $fd (call $create (call $preopen (i32.const 61440) (i32.const 10))
          (i32.const 61456) (i32.const 9)))
        (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 72))))
        (loop $more
          (call $write (local.get $fd) (i32.const 0) (i32.const 65536))
          (br $more))))
    (if (i32.eq (local.get $mode) (i32.const 99)) ;; c
      (then
        (local.set $fd (i32.const 1024))
        (loop $more
          (call $write (i32.const 1) (i32.const 0) (i32.const 65536))
          (local.set $fd (i32.sub (local.get $fd) (i32.const 1)))
          (br_if $more (i32.gt_s (local.get $fd) (i32.const 0))))
        (call $proc_exit (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 105)) ;; i
      (then
        (local.set $mode (call $preopen (i32.const 61440) (i32.const 10)))
        (i32.store8 (i32.const 61600) (i32.const 101)) ;; "e", then 5 digits
        (local.set $fd (i32.const 0))
        (loop $more
          (i32.store8 (i32.const 61601) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $fd) (i32.const 10000)) (i32.const 10))))
          (i32.store8 (i32.const 61602) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $fd) (i32.const 1000)) (i32.const 10))))
          (i32.store8 (i32.const 61603) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $fd) (i32.const 100)) (i32.const 10))))
          (i32.store8 (i32.const 61604) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $fd) (i32.const 10)) (i32.const 10))))
          (i32.store8 (i32.const 61605) (i32.add (i32.const 48) (i32.rem_u (local.get $fd) (i32.const 10))))
          (drop (call $fd_close (call $create (local.get $mode) (i32.const 61600) (i32.const 6))))
          (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $fd) (i32.const 20000))))
        (call $proc_exit (i32.const 0))))
    (if (i32.eq (local.get $mode) (i32.const 119)) ;; w
      (then
        (local.set $fd (call $create (call $preopen (i32.const 61472) (i32.const 9))
          (i32.const 61488) (i32.const 1)))
        (call $proc_exit (i32.ge_s (local.get $fd) (i32.const 0)))))
    (call $write (i32.const 2) (i32.const 61536) (i32.const 20))
    (call $proc_exit (i32.const 2)))
