//go:build amd64 && !purego

// The Stream's kernel (stream.go) in AVX2: four Poly1305 lanes, one per 64-bit
// lane of a YMM register, 26-bit limbs (see mac.go for the method).
//
// Registers: Y0-Y4 the lanes' limbs h0-h4, Y5-Y9 the products d0-d4, Y10-Y13
// scratch, Y14 the blocks' 2^128 bits, Y15 the 26-bit mask. BX points at the
// multiplier rows: R0-R4 then S1-S4 (5 times R1-R4), 32 bytes each.

#include "textflag.h"

DATA mask26<>+0(SB)/8, $0x3ffffff
DATA mask26<>+8(SB)/8, $0x3ffffff
DATA mask26<>+16(SB)/8, $0x3ffffff
DATA mask26<>+24(SB)/8, $0x3ffffff
GLOBL mask26<>(SB), RODATA|NOPTR, $32

DATA hibit<>+0(SB)/8, $0x1000000
DATA hibit<>+8(SB)/8, $0x1000000
DATA hibit<>+16(SB)/8, $0x1000000
DATA hibit<>+24(SB)/8, $0x1000000
GLOBL hibit<>(SB), RODATA|NOPTR, $32

#define R0 0(BX)
#define R1 32(BX)
#define R2 64(BX)
#define R3 96(BX)
#define R4 128(BX)
#define S1 160(BX)
#define S2 192(BX)
#define S3 224(BX)
#define S4 256(BX)

// MULR sets d (Y5-Y9) to h (Y0-Y4) times the multiplier rows at BX, lane by
// lane, the five products of each limb of d summed; 2^130 = 5 mod p folds the
// products above 2^130 back through the S rows (5 times R1-R4). Y10-Y13 are
// scratch.
#define MULR \
	VPMULUDQ R0, Y0, Y5 ; \
	VPMULUDQ R1, Y0, Y6 ; \
	VPMULUDQ R2, Y0, Y7 ; \
	VPMULUDQ R3, Y0, Y8 ; \
	VPMULUDQ R4, Y0, Y9 ; \
	VPMULUDQ S4, Y1, Y10 ; \
	VPMULUDQ R0, Y1, Y11 ; \
	VPMULUDQ R1, Y1, Y12 ; \
	VPMULUDQ R2, Y1, Y13 ; \
	VPADDQ   Y10, Y5, Y5 ; \
	VPADDQ   Y11, Y6, Y6 ; \
	VPADDQ   Y12, Y7, Y7 ; \
	VPADDQ   Y13, Y8, Y8 ; \
	VPMULUDQ R3, Y1, Y10 ; \
	VPADDQ   Y10, Y9, Y9 ; \
	VPMULUDQ S3, Y2, Y10 ; \
	VPMULUDQ S4, Y2, Y11 ; \
	VPMULUDQ R0, Y2, Y12 ; \
	VPMULUDQ R1, Y2, Y13 ; \
	VPADDQ   Y10, Y5, Y5 ; \
	VPADDQ   Y11, Y6, Y6 ; \
	VPADDQ   Y12, Y7, Y7 ; \
	VPADDQ   Y13, Y8, Y8 ; \
	VPMULUDQ R2, Y2, Y10 ; \
	VPADDQ   Y10, Y9, Y9 ; \
	VPMULUDQ S2, Y3, Y10 ; \
	VPMULUDQ S3, Y3, Y11 ; \
	VPMULUDQ S4, Y3, Y12 ; \
	VPMULUDQ R0, Y3, Y13 ; \
	VPADDQ   Y10, Y5, Y5 ; \
	VPADDQ   Y11, Y6, Y6 ; \
	VPADDQ   Y12, Y7, Y7 ; \
	VPADDQ   Y13, Y8, Y8 ; \
	VPMULUDQ R1, Y3, Y10 ; \
	VPADDQ   Y10, Y9, Y9 ; \
	VPMULUDQ S1, Y4, Y10 ; \
	VPMULUDQ S2, Y4, Y11 ; \
	VPMULUDQ S3, Y4, Y12 ; \
	VPMULUDQ S4, Y4, Y13 ; \
	VPADDQ   Y10, Y5, Y5 ; \
	VPADDQ   Y11, Y6, Y6 ; \
	VPADDQ   Y12, Y7, Y7 ; \
	VPADDQ   Y13, Y8, Y8 ; \
	VPMULUDQ R0, Y4, Y10 ; \
	VPADDQ   Y10, Y9, Y9

// CARRY carries d (Y5-Y9) into h (Y0-Y4), two chains at once: d3->d4->d0 and
// d0->d1->d2->d3->d4. Afterwards h1 is below 2^26+2^11, h4 below 2^26+2^8,
// the rest below 2^26. Y15 is the 26-bit mask.
#define CARRY \
	VPSRLQ $26, Y8, Y10 ; \
	VPAND  Y15, Y8, Y3 ; \
	VPADDQ Y10, Y9, Y9 ; \
	VPSRLQ $26, Y5, Y11 ; \
	VPAND  Y15, Y5, Y0 ; \
	VPADDQ Y11, Y6, Y6 ; \
	VPSRLQ $26, Y9, Y10 ; \
	VPAND  Y15, Y9, Y4 ; \
	VPSLLQ $2, Y10, Y12 ; \
	VPADDQ Y12, Y10, Y10 ; \
	VPADDQ Y10, Y0, Y0 ; \
	VPSRLQ $26, Y6, Y11 ; \
	VPAND  Y15, Y6, Y1 ; \
	VPADDQ Y11, Y7, Y7 ; \
	VPSRLQ $26, Y0, Y10 ; \
	VPAND  Y15, Y0, Y0 ; \
	VPADDQ Y10, Y1, Y1 ; \
	VPSRLQ $26, Y7, Y11 ; \
	VPAND  Y15, Y7, Y2 ; \
	VPADDQ Y11, Y3, Y3 ; \
	VPSRLQ $26, Y3, Y10 ; \
	VPAND  Y15, Y3, Y3 ; \
	VPADDQ Y10, Y4, Y4

// lanesAVX2: a Stream's lanes (stream.go) over whole 64-byte chunks, each
// XORed with the pad on the way in: per chunk, every lane times r^4, then the
// chunk's four blocks added, one a lane. The multiply waits on the lanes, the
// loads and XOR do not, so the XOR pass hides in the multiply's latency.
//
// BX holds the r^4 rows; SI the source, R10 the pad, R9 the destination, CX
// the chunks left.

// func lanesAVX2(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte)
TEXT ·lanesAVX2(SB), NOSPLIT, $0-88
	MOVQ lanes+0(FP), DI
	MOVQ tab+8(FP), BX
	MOVQ dst_base+16(FP), R9
	MOVQ src_base+40(FP), SI
	MOVQ src_len+48(FP), CX
	MOVQ pad_base+64(FP), R10
	SHRQ $6, CX
	JZ   ret

	VMOVDQU 0(DI), Y0
	VMOVDQU 32(DI), Y1
	VMOVDQU 64(DI), Y2
	VMOVDQU 96(DI), Y3
	VMOVDQU 128(DI), Y4
	VMOVDQU hibit<>(SB), Y14
	VMOVDQU mask26<>(SB), Y15

loop:
	MULR
	CARRY

	// The chunk: XOR with the pad and out to dst (if there is a pad), then
	// its four blocks split into limbs, one a lane, and added.
	VMOVDQU 0(SI), Y10
	VMOVDQU 32(SI), Y11
	TESTQ   R10, R10
	JZ      split
	// The pad, asked for 1 KiB ahead (BenchmarkSeal, pad read cold, 64 KiB
	// frames: none 13.4 us, 512 B ahead 11.4, 1 KiB 10.9, 2 KiB 10.8).
	PREFETCHT0 1024(R10)
	VPXOR      0(R10), Y10, Y10
	VPXOR      32(R10), Y11, Y11
	VMOVDQU    Y10, 0(R9)
	VMOVDQU    Y11, 32(R9)
	ADDQ       $64, R10
	ADDQ       $64, R9

split:
	VPERM2I128 $0x20, Y11, Y10, Y12 // blocks 0, 2
	VPERM2I128 $0x31, Y11, Y10, Y13 // blocks 1, 3
	VPUNPCKLQDQ Y13, Y12, Y10       // low halves of blocks 0, 1, 2, 3
	VPUNPCKHQDQ Y13, Y12, Y11       // high halves

	VPAND   Y15, Y10, Y12
	VPADDQ  Y12, Y0, Y0
	VPSRLQ  $26, Y10, Y12
	VPAND   Y15, Y12, Y12
	VPADDQ  Y12, Y1, Y1
	VPSRLQ  $52, Y10, Y12
	VPSLLQ  $12, Y11, Y13
	VPOR    Y13, Y12, Y12
	VPAND   Y15, Y12, Y12
	VPADDQ  Y12, Y2, Y2
	VPSRLQ  $14, Y11, Y12
	VPAND   Y15, Y12, Y12
	VPADDQ  Y12, Y3, Y3
	VPSRLQ  $40, Y11, Y12
	VPOR    Y14, Y12, Y12
	VPADDQ  Y12, Y4, Y4

	ADDQ $64, SI
	DECQ CX
	JNZ  loop

	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VZEROUPPER

ret:
	RET

// lanesFinalAVX2: the end of a Stream's lanes: lane j times its own
// multiplier (fin's rows, laid out as the r^4 rows), carried, and the four
// lanes summed into h.

// func lanesFinalAVX2(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs)
TEXT ·lanesFinalAVX2(SB), NOSPLIT, $0-24
	MOVQ lanes+0(FP), SI
	MOVQ fin+8(FP), BX
	MOVQ h+16(FP), DI
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU mask26<>(SB), Y15

	MULR
	CARRY

	// Sum the four lanes of each limb into h.
	VEXTRACTI128 $1, Y0, X10
	VPADDQ       X10, X0, X0
	VPSHUFD      $0x4e, X0, X10
	VPADDQ       X10, X0, X0
	VMOVQ        X0, 0(DI)
	VEXTRACTI128 $1, Y1, X10
	VPADDQ       X10, X1, X1
	VPSHUFD      $0x4e, X1, X10
	VPADDQ       X10, X1, X1
	VMOVQ        X1, 8(DI)
	VEXTRACTI128 $1, Y2, X10
	VPADDQ       X10, X2, X2
	VPSHUFD      $0x4e, X2, X10
	VPADDQ       X10, X2, X2
	VMOVQ        X2, 16(DI)
	VEXTRACTI128 $1, Y3, X10
	VPADDQ       X10, X3, X3
	VPSHUFD      $0x4e, X3, X10
	VPADDQ       X10, X3, X3
	VMOVQ        X3, 24(DI)
	VEXTRACTI128 $1, Y4, X10
	VPADDQ       X10, X4, X4
	VPSHUFD      $0x4e, X4, X10
	VPADDQ       X10, X4, X4
	VMOVQ        X4, 32(DI)
	VZEROUPPER
	RET
