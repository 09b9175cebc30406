;; Declares 64 MiB (1024 pages) of initial memory: instantiation itself exceeds a smaller
;; limit, which must still be an OOMKilled container rather than a host error.
(module
  (memory (export "memory") 1024)
  (func (export "_start")))
