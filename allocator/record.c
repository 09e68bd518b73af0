/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "record.h"

void snap_base_key(uint32_t base, unsigned char key[5])
{
        key[0] = SNAP_KEY_BASE;
        key[1] = base >> 24;
        key[2] = base >> 16;
        key[3] = base >> 8;
        key[4] = base;
}

size_t snap_record_encode(const struct snap_record *r, void *buf,
                          size_t size)
{
        const char *s[] = { r->name, r->gecos, r->dir, r->shell };
        struct snap_head h = { .base = r->base, .size = r->size };
        size_t len = sizeof(h);
        char *p = buf;

        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
                len += strlen(s[i]) + 1;
        if (len > size)
                return len;

        memcpy(p, &h, sizeof(h));
        p += sizeof(h);
        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
                size_t l = strlen(s[i]) + 1;

                memcpy(p, s[i], l);
                p += l;
        }
        return len;
}

int snap_record_decode(const void *data, size_t len, struct snap_record *r)
{
        const char **s[] = { &r->name, &r->gecos, &r->dir, &r->shell };
        const char *p = data, *end = p + len;
        struct snap_head h;

        if (len < sizeof(h))
                return -EBADMSG;
        memcpy(&h, p, sizeof(h));
        if (h.size == 0 || h.base > UINT32_MAX - (h.size - 1))
                return -EBADMSG;
        p += sizeof(h);

        for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
                const char *nul = memchr(p, 0, end - p);

                if (!nul)
                        return -EBADMSG;
                *s[i] = p;
                p = nul + 1;
        }
        if (p != end || r->name[0] == 0)
                return -EBADMSG;

        r->base = h.base;
        r->size = h.size;
        return 0;
}

int snap_meta_decode(const void *data, size_t len, struct snap_meta *m)
{
        if (len != sizeof(*m))
                return -EBADMSG;
        memcpy(m, data, sizeof(*m));
        if (m->magic != SNAP_MAGIC || m->version != SNAP_VERSION ||
            m->block_size == 0)
                return -EBADMSG;
        return 0;
}
