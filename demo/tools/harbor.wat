;; The demo's WebAssembly module, in text form. tools/make-wasm.py assembles exactly these
;; instructions into site/assets/harbor.<hash>.wasm (no toolchain needed).
(module
  ;; add(a, b) = a + b
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  ;; tide(minute) = water level in decimetres over a 12-hour tide: 30 + triangle wave of height 20
  (func (export "tide") (param i32) (result i32)
    (local i32)
    local.get 0
    i32.const 720
    i32.rem_u          ;; m = minute mod 720
    local.tee 1
    i32.const 360
    i32.gt_u
    if (result i32)    ;; falling half: 720 - m
      i32.const 720
      local.get 1
      i32.sub
    else               ;; rising half: m
      local.get 1
    end
    i32.const 18
    i32.div_u          ;; 0..20
    i32.const 30
    i32.add))
