// fem/src/element.c: the Q4 plane-stress element matrix (top88 closed form)
#include "fem_internal.h"

void fem_element_stiffness(double E, double nu, double ke[64])
{
    // Andreassen et al. 2011 (top88), unit square, plane stress, thickness 1: KE is built from
    // eight distinct values k[0..7]; row r of KE is the permutation idx[r] of them.
    const double k[8] = {0.5 - nu / 6,    0.125 + nu / 8,  -0.25 - nu / 12, -0.125 + 3 * nu / 8,
                         -0.25 + nu / 12, -0.125 - nu / 8, nu / 6,          0.125 - 3 * nu / 8};
    static const int idx[8][8] = {{0, 1, 2, 3, 4, 5, 6, 7}, {1, 0, 7, 6, 5, 4, 3, 2},
                                  {2, 7, 0, 5, 6, 3, 4, 1}, {3, 6, 5, 0, 7, 2, 1, 4},
                                  {4, 5, 6, 7, 0, 1, 2, 3}, {5, 4, 3, 2, 1, 0, 7, 6},
                                  {6, 3, 4, 1, 2, 7, 0, 5}, {7, 2, 1, 4, 3, 6, 5, 0}};
    const double s = E / (1 - nu * nu);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            ke[8 * i + j] = s * k[idx[i][j]];
}

void fem_pairs_(int pa[FEM_NPAIR], int pb[FEM_NPAIR])
{
    int q = 0;
    for (int a = 0; a < 8; a++)
        for (int b = a; b < 8; b++)
            pa[q] = a, pb[q] = b, q++;
}
