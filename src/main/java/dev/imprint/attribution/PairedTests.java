package dev.imprint.attribution;

/**
 * One suspect's signed-rank tests of candidates against their controls, each ranked once. A
 * candidate A against an outsider B is B against A with every sign flipped (a - b is exactly
 * -(b - a)), so the pair's differences are ranked once for both ({@link SignedRankTest#greaterBothWays});
 * and the test a candidate's lower bound takes against its strongest control is one its full
 * intersection-union test takes again. With every member's p-value asked (as {@code score --top-k 0}
 * asks), that halves the tests of a verdict, which were most of its cost: A1 on the development
 * machine spent most of its samples in {@link SignedRankTest} and its sort.
 */
final class PairedTests {
    private final double[][] beta;
    private final int members;
    /**
     * At {@code candidate * (members + 1) + control}, where control is the outsider's member index,
     * or {@code members} for the siblings' sum.
     */
    private final SignedRankTest.Result[] done;

    PairedTests(double[][] beta) {
        this.beta = beta;
        this.members = beta.length;
        this.done = new SignedRankTest.Result[members * (members + 1)];
    }

    /** {@link SignedRankTest#greater} of candidate's coefficients less the control's, computed once. */
    SignedRankTest.Result test(int candidate, TeacherControls.Control control) {
        int c = control.member();
        int at = candidate * (members + 1) + (c == TeacherControls.SIBLINGS ? members : c);
        SignedRankTest.Result r = done[at];
        if (r != null) {
            return r;
        }
        if (c == TeacherControls.SIBLINGS) {
            r = SignedRankTest.greater(Attributor.difference(beta[candidate], control.series()));
        } else {
            SignedRankTest.Result[] both =
                    SignedRankTest.greaterBothWays(Attributor.difference(beta[candidate], beta[c]));
            r = both[0];
            // The outsider's test against this candidate, should the outsider be a candidate too.
            done[c * (members + 1) + candidate] = both[1];
        }
        done[at] = r;
        return r;
    }
}
