// solver/src/lbfgs_kern.h: the memory-bound passes of the L-BFGS engine over its pair storage,
// written once for the element type LB_T of the pairs (double or float) and included by
// lbfgs.c once per type with LB_T and LB_SFX (the name suffix) defined. Products and sums are
// always in double: a float pair element is converted exactly before it is multiplied.
// No include guard: each inclusion instantiates the kernels for another type.
#ifndef LB_T
#error "define LB_T and LB_SFX before including lbfgs_kern.h"
#endif

#define LB_CAT2(a, b) a##b
#define LB_CAT(a, b) LB_CAT2(a, b)
#define LB_FN(name) LB_CAT(name, LB_SFX)

/* The fixed tree that ends every dot product of these kernels (eight partial sums). */
#ifndef LB_TREE
#define LB_TREE(p) (((p)[0] + (p)[4]) + ((p)[1] + (p)[5])) + (((p)[2] + (p)[6]) + ((p)[3] + (p)[7]))
#endif

/* Four-lane loads as doubles (GNU vector extensions; two four-lane accumulators hold the eight
 * partial sums, lane k accumulating the elements j = k mod 8 exactly as the scalar code of the
 * other compilers, so both give the same bits): LB_LDP loads four pair elements (float lanes
 * converted exactly), LB_LDD four doubles. Four lanes are one register in every clone (an
 * eight-lane type spills on AVX2). */
#ifdef LB_VEC
#ifndef LB_LDD
#define LB_LDD(dst, p) memcpy(&(dst), (p), sizeof(dst))
#endif
#undef LB_LDP
#define LB_LDP(dst, p) LB_CAT(lb_ldp_, LB_SFX)(dst, p)
#endif

/* r[0] = s'v, r[1] = y'v over len elements, each a fixed-order sum (eight interleaved partial
 * sums, then LB_TREE): the same bits for the same vectors wherever it is called. s and y are
 * read (and converted) once for both products. */
LB_INLINE void LB_FN(lb_dot2_)(const LB_T *restrict s, const LB_T *restrict y,
                               const double *restrict v, int len, double r[2])
{
    double pa[8] = {0}, pb[8] = {0};
    int j = 0;
#ifdef LB_VEC
    lb_v4 va0 = {0}, va1 = {0}, vb0 = {0}, vb1 = {0}; /* lanes 0-3 and 4-7 */
    for (; j + 8 <= len; j += 8) {
        lb_v4 s0, s1, y0, y1, v0, v1;
        LB_LDP(s0, s + j);
        LB_LDP(s1, s + j + 4);
        LB_LDP(y0, y + j);
        LB_LDP(y1, y + j + 4);
        LB_LDD(v0, v + j);
        LB_LDD(v1, v + j + 4);
        va0 += s0 * v0;
        va1 += s1 * v1;
        vb0 += y0 * v0;
        vb1 += y1 * v1;
    }
    memcpy(pa, &va0, sizeof va0);
    memcpy(pa + 4, &va1, sizeof va1);
    memcpy(pb, &vb0, sizeof vb0);
    memcpy(pb + 4, &vb1, sizeof vb1);
#else
    for (; j + 8 <= len; j += 8)
        for (int k = 0; k < 8; k++) {
            const double sk = (double)s[j + k], yk = (double)y[j + k];
            pa[k] += sk * v[j + k];
            pb[k] += yk * v[j + k];
        }
#endif
    for (int k = 0; j < len; j++, k++) {
        pa[k] += (double)s[j] * v[j];
        pb[k] += (double)y[j] * v[j];
    }
    r[0] = LB_TREE(pa);
    r[1] = LB_TREE(pb);
}

/* r = (s'v, y'v, s'w, y'w) in one read of s and y; each product in the order of lb_dot2. */
LB_INLINE void LB_FN(lb_dot4_)(const LB_T *restrict s, const LB_T *restrict y,
                               const double *restrict v, const double *restrict w, int len,
                               double r[4])
{
    double pa[8] = {0}, pb[8] = {0}, pc[8] = {0}, pd[8] = {0};
    int j = 0;
#ifdef LB_VEC
    lb_v4 va0 = {0}, va1 = {0}, vb0 = {0}, vb1 = {0}, vc0 = {0}, vc1 = {0}, vd0 = {0}, vd1 = {0};
    for (; j + 8 <= len; j += 8) {
        lb_v4 s0, s1, y0, y1, v0, v1, w0, w1;
        LB_LDP(s0, s + j);
        LB_LDP(s1, s + j + 4);
        LB_LDP(y0, y + j);
        LB_LDP(y1, y + j + 4);
        LB_LDD(v0, v + j);
        LB_LDD(v1, v + j + 4);
        LB_LDD(w0, w + j);
        LB_LDD(w1, w + j + 4);
        va0 += s0 * v0;
        va1 += s1 * v1;
        vb0 += y0 * v0;
        vb1 += y1 * v1;
        vc0 += s0 * w0;
        vc1 += s1 * w1;
        vd0 += y0 * w0;
        vd1 += y1 * w1;
    }
    memcpy(pa, &va0, sizeof va0);
    memcpy(pa + 4, &va1, sizeof va1);
    memcpy(pb, &vb0, sizeof vb0);
    memcpy(pb + 4, &vb1, sizeof vb1);
    memcpy(pc, &vc0, sizeof vc0);
    memcpy(pc + 4, &vc1, sizeof vc1);
    memcpy(pd, &vd0, sizeof vd0);
    memcpy(pd + 4, &vd1, sizeof vd1);
#else
    for (; j + 8 <= len; j += 8)
        for (int k = 0; k < 8; k++) {
            const double sk = (double)s[j + k], yk = (double)y[j + k];
            pa[k] += sk * v[j + k];
            pb[k] += yk * v[j + k];
            pc[k] += sk * w[j + k];
            pd[k] += yk * w[j + k];
        }
#endif
    for (int k = 0; j < len; j++, k++) {
        const double sk = (double)s[j], yk = (double)y[j];
        pa[k] += sk * v[j];
        pb[k] += yk * v[j];
        pc[k] += sk * w[j];
        pd[k] += yk * w[j];
    }
    r[0] = LB_TREE(pa);
    r[1] = LB_TREE(pb);
    r[2] = LB_TREE(pc);
    r[3] = LB_TREE(pd);
}

/* Pass 1: a[sl] = S_sl'v, b[sl] = Y_sl'v over the c slots sl[0 .. c-1], and the columns
 * S'y_p, Y'y_p of the stale slots p = st[0 .. ns-1] (added to SY, YY of leading dimension ld,
 * zeroed by the caller). One read of every pair; per block, v and the stale y_p (converted
 * once into yb[ns * LB_BLOCK]) stay in cache while the pairs stream through. */
LB_CLONES static void LB_FN(lb_pass1_)(const LB_T *S, const LB_T *Y, int n, const int *sl, int c,
                                       int ld, const double *v, double *a, double *b, const int *st,
                                       int ns, double *SY, double *YY, double *yb)
{
    for (int r0 = 0; r0 < n; r0 += LB_BLOCK) {
        const int len = n - r0 < LB_BLOCK ? n - r0 : LB_BLOCK;
        for (int q = 0; q < ns; q++) {
            const LB_T *restrict yp = Y + (size_t)st[q] * n + r0;
            double *restrict o = yb + (size_t)q * LB_BLOCK;
            for (int j = 0; j < len; j++)
                o[j] = (double)yp[j];
        }
        for (int k = 0; k < c; k++) {
            const int i = sl[k];
            const LB_T *s = S + (size_t)i * n + r0, *y = Y + (size_t)i * n + r0;
            double r[4];
            if (ns > 0) {
                LB_FN(lb_dot4_)(s, y, v + r0, yb, len, r);
                SY[(size_t)i * ld + st[0]] += r[2];
                YY[(size_t)i * ld + st[0]] += r[3];
            } else {
                LB_FN(lb_dot2_)(s, y, v + r0, len, r);
            }
            a[i] += r[0];
            b[i] += r[1];
            for (int q = 1; q < ns; q++) {
                LB_FN(lb_dot2_)(s, y, yb + (size_t)q * LB_BLOCK, len, r);
                SY[(size_t)i * ld + st[q]] += r[0];
                YY[(size_t)i * ld + st[q]] += r[1];
            }
        }
    }
}

/* Pass 2: out = gam v + sum_k cs_sl[k] s_sl[k] + cy_sl[k] y_sl[k], k = 0 .. c-1 in that order;
 * returns v'out (fixed order, block by block). If xt is not NULL, also xt = x + out (the
 * first line-search trial, step 1), so that out is not read again for it. */
LB_CLONES static double LB_FN(lb_pass2_)(const LB_T *S, const LB_T *Y, int n, const int *sl, int c,
                                         const double *v, double gam, const double *cs,
                                         const double *cy, double *out, const double *x, double *xt)
{
    double vo = 0;
    for (int r0 = 0; r0 < n; r0 += LB_BLOCK) {
        const int len = n - r0 < LB_BLOCK ? n - r0 : LB_BLOCK;
        double *restrict o = out + r0;
        const double *restrict vv = v + r0;
        for (int j = 0; j < len; j++)
            o[j] = gam * vv[j];
        int k = 0;
        for (; k + 2 <= c; k += 2) { /* two pairs per read and write of o, same order */
            const int i = sl[k], i2 = sl[k + 1];
            const LB_T *restrict s = S + (size_t)i * n + r0, *restrict y = Y + (size_t)i * n + r0;
            const LB_T *restrict s2 = S + (size_t)i2 * n + r0;
            const LB_T *restrict y2 = Y + (size_t)i2 * n + r0;
            const double ci = cs[i], di = cy[i], ci2 = cs[i2], di2 = cy[i2];
            int j = 0;
#ifdef LB_VEC
            const lb_v4 vci = {ci, ci, ci, ci}, vdi = {di, di, di, di};
            const lb_v4 vci2 = {ci2, ci2, ci2, ci2}, vdi2 = {di2, di2, di2, di2};
            for (; j + 4 <= len; j += 4) {
                lb_v4 ok, sk, yk, s2k, y2k;
                LB_LDD(ok, o + j);
                LB_LDP(sk, s + j);
                LB_LDP(yk, y + j);
                LB_LDP(s2k, s2 + j);
                LB_LDP(y2k, y2 + j);
                ok = (ok + (vci * sk + vdi * yk)) + (vci2 * s2k + vdi2 * y2k);
                memcpy(o + j, &ok, sizeof ok);
            }
#endif
            for (; j < len; j++)
                o[j] = (o[j] + (ci * (double)s[j] + di * (double)y[j])) +
                       (ci2 * (double)s2[j] + di2 * (double)y2[j]);
        }
        for (; k < c; k++) {
            const int i = sl[k];
            const LB_T *restrict s = S + (size_t)i * n + r0;
            const LB_T *restrict y = Y + (size_t)i * n + r0;
            const double ci = cs[i], di = cy[i];
            for (int j = 0; j < len; j++)
                o[j] += ci * (double)s[j] + di * (double)y[j];
        }
        vo += lb_bdot(vv, o, len);
        if (xt) {
            const double *restrict xx = x + r0;
            double *restrict tt = xt + r0;
            for (int j = 0; j < len; j++)
                tt[j] = xx[j] + o[j];
        }
    }
    return vo;
}

/* s = x1 - x0, y = g1 - g0 rounded to the pair type and stored in S, Y, and pr = (s'y, y'y,
 * s's) of the stored (rounded) vectors, in one pass, fixed order (eight partial sums each). */
LB_CLONES static void LB_FN(lb_pair_)(const double *restrict x1, const double *restrict x0,
                                      const double *restrict g1, const double *restrict g0, int n,
                                      LB_T *restrict S, LB_T *restrict Y, double pr[3])
{
    double sy[8] = {0}, yy[8] = {0}, ss[8] = {0};
    for (int r0 = 0; r0 < n; r0 += 8) {
        const int len = n - r0 < 8 ? n - r0 : 8;
        for (int k = 0; k < len; k++) {
            const LB_T sr = (LB_T)(x1[r0 + k] - x0[r0 + k]), yr = (LB_T)(g1[r0 + k] - g0[r0 + k]);
            const double s = (double)sr, y = (double)yr;
            S[r0 + k] = sr;
            Y[r0 + k] = yr;
            sy[k] += s * y;
            yy[k] += y * y;
            ss[k] += s * s;
        }
    }
    double *q[3] = {sy, yy, ss};
    for (int j = 0; j < 3; j++)
        pr[j] = ((q[j][0] + q[j][4]) + (q[j][1] + q[j][5])) +
                ((q[j][2] + q[j][6]) + (q[j][3] + q[j][7]));
}

#undef LB_FN
#undef LB_CAT
#undef LB_CAT2
