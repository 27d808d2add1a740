/* rv32ui-style self-check for `guillotine run`: each check has a number; the first failing
   check n returns (n << 1) | 1, all passing returns 1 (stored to tohost by start.S).
   Build with -DBREAK=n to make check n fail on purpose, -DHALT to end in an ecall. */
#include <stdint.h>

#ifndef BREAK
#define BREAK 0
#endif

static volatile uint32_t sink;
static uint32_t table[16];

static uint32_t v(uint32_t x) { sink = x; return sink; }   /* defeat constant folding */

#define CHECK(n, cond) do { if (!(cond) || BREAK == (n)) return ((n) << 1) | 1; } while (0)

int main(void)
{
    uint32_t a = v(0x12345678), b = v(0x0000000f), m = v(0x80000000);
    int32_t s = (int32_t)v(0xfffffff0);

    CHECK(1, a + b == 0x12345687);
    CHECK(2, a - b == 0x12345669);
    CHECK(3, (a << b) == 0x2b3c0000 && (a << 4) == 0x23456780);
    CHECK(4, (m >> b) == 0x00010000 && (uint32_t)((int32_t)m >> b) == 0xffff0000);
    CHECK(5, s < (int32_t)b && b < (uint32_t)s && (s >> 2) == -4);
    CHECK(6, (a ^ b) == 0x12345677 && (a | b) == 0x1234567f && (a & b) == 8);

    /* memory: bytes, halves, words, signed/unsigned loads */
    for (uint32_t i = 0; i < 16; i++)
        table[i] = v(i * 0x01010101u) ^ a;
    volatile uint8_t *bytes = (volatile uint8_t *)table;
    volatile int16_t *halves = (volatile int16_t *)table;
    CHECK(7, table[3] == (0x03030303u ^ a) && bytes[4] == (uint8_t)(0x01 ^ 0x78));
    bytes[1] = 0xff;
    CHECK(8, (table[0] & 0xff00) == 0xff00 && halves[0] == (int16_t)0xff78);
    halves[3] = -2;
    CHECK(9, table[1] >> 16 == 0xfffe);

    /* a loop with a data-dependent branch: sum of odd numbers below 100 */
    uint32_t sum = 0;
    for (uint32_t i = v(0); i < 100; i++)
        if (i & 1)
            sum += i;
    CHECK(10, sum == 2500);

    /* shift-and-add multiply (RV32I has no mul) */
    uint32_t x = v(1234), y = v(5678), p = 0;
    while (y) {
        if (y & 1)
            p += x;
        x <<= 1;
        y >>= 1;
    }
    CHECK(11, p == 1234u * 5678u);

#ifdef HALT
    __asm__ volatile("ecall");
#endif
#ifdef SPIN
    for (;;)
        sink = sink + 1;
#endif
    return 1;
}
