//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package window

// bigEndian reports a big-endian host, where Row's native loads of the
// format's little-endian integers are byte-swapped.
const bigEndian = false
