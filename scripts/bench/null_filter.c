/* The cheapest filter process git can talk to: the long-running protocol (version 2, clean and
 * smudge) answering every file with its own bytes. scripts/bench/filter.sh times it as the
 * "null" mode, the floor of what any filter process costs git, whatever it does per file.
 * Plain C with stdio buffering, one fflush per response; no checks beyond what git sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf[65520];

/* Reads one pkt-line: its payload length, 0 for a flush, -1 at end of input. */
static int read_pkt(void) {
    char head[5] = {0};
    if (fread(head, 1, 4, stdin) != 4) return -1;
    const int len = (int)strtol(head, NULL, 16);
    if (len == 0) return 0;
    if (len < 4 || len - 4 > (int)sizeof buf || fread(buf, 1, (size_t)(len - 4), stdin) != (size_t)(len - 4)) exit(2);
    return len - 4;
}

static void write_pkt(const char* data, int n) {
    printf("%04x", n + 4);
    fwrite(data, 1, (size_t)n, stdout);
}

static void text(const char* s) { write_pkt(s, (int)strlen(s)); }
static void flush_pkt(void) { fputs("0000", stdout); }

int main(void) {
    static char content[1 << 24];
    while (read_pkt() > 0) {}  /* git-filter-client, version=2 */
    text("git-filter-server\n");
    text("version=2\n");
    flush_pkt();
    fflush(stdout);
    while (read_pkt() > 0) {}  /* capabilities */
    text("capability=clean\n");
    text("capability=smudge\n");
    flush_pkt();
    fflush(stdout);
    for (;;) {
        int n = read_pkt();
        if (n < 0) return 0;
        while (n > 0) n = read_pkt();  /* command=, pathname=, ... */
        size_t size = 0;
        while ((n = read_pkt()) > 0) {
            if (size + (size_t)n > sizeof content) exit(3);
            memcpy(content + size, buf, (size_t)n);
            size += (size_t)n;
        }
        text("status=success\n");
        flush_pkt();
        for (size_t at = 0; at < size; at += 65516) write_pkt(content + at, (int)(size - at < 65516 ? size - at : 65516));
        flush_pkt();
        flush_pkt();
        fflush(stdout);
    }
}
