package dev.imprint.endpoint;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The fixed catalog of synthetic models and the ground truth of what each one says.
 *
 * <p>For a prompt text x, the next word is drawn from {@value Lexicon#CANDIDATES} candidates that
 * a hash of x picks from the lexicon. Model m's logit for candidate w is
 * {@code z = 2.0 U(x,w) + 1.0 F(x,w) + 1.0 E(x,w)}, where U is shared by every model, F by the
 * members of m's family and E is m's own; each is an independent N(0,1) from a hash of (x, w,
 * name). A student distilled from a teacher has {@code z = 0.4 z_own + 0.6 z_teacher}. Word
 * probabilities are {@code softmax(SHARPNESS * z)}; the tokenizer then folds words into their
 * first tokens, adding the probabilities of words that share one.
 *
 * <p>The catalog, whose truth the verdicts should find:
 * <pre>
 * id            kind       family  tokenizer      teacher
 * atlas-7b      CHAT       atlas   BPE            -
 * atlas-13b     CHAT       atlas   BPE            -
 * atlas-70b     CHAT       atlas   BPE            -
 * boreal-8b     CHAT       boreal  SENTENCEPIECE  -
 * boreal-32b    CHAT       boreal  SENTENCEPIECE  -
 * cedar-3b      CHAT       cedar   BPE            -
 * cedar-9b      CHAT       cedar   BPE            -
 * dune-4b       CHAT       dune    SENTENCEPIECE  -
 * dune-12b      CHAT       dune    SENTENCEPIECE  -
 * pupil-1b      CHAT       pupil   SENTENCEPIECE  atlas-70b
 * loner-2b      CHAT       loner   BPE            -
 * atlas-embed   EMBEDDING  atlas   BPE            -
 * boreal-embed  EMBEDDING  boreal  SENTENCEPIECE  -
 * pupil-embed   EMBEDDING  pupil   SENTENCEPIECE  atlas-embed
 * loner-embed   EMBEDDING  loner   BPE            -
 * </pre>
 * Embeddings are built the same way, one component per dimension, and scaled to unit length.
 */
public final class SyntheticModels {
    /** Scale of the universal, family and member parts of a logit or embedding component. */
    static final double UNIVERSAL = 2.0;
    static final double FAMILY = 1.0;
    static final double MEMBER = 1.0;
    /** How much of a student's logit is its teacher's. */
    static final double DISTILLATION = 0.6;
    /** Inverse temperature of the word softmax, chosen so the top token holds 0.2-0.6 of the mass. */
    static final double SHARPNESS = 1.3;
    public static final int EMBEDDING_DIMENSIONS = 256;

    /** What a model answers: chat and legacy completions, or embeddings. */
    public enum Kind { CHAT, EMBEDDING }

    /** One model of the catalog and the truth about it; {@code teacher} is null for a model trained on its own. */
    public record Model(String id, String family, Tokenizer tokenizer, String teacher, Kind kind) {}

    private static final SyntheticModels CATALOG = new SyntheticModels(List.of(
            new Model("atlas-7b", "atlas", Tokenizer.BPE, null, Kind.CHAT),
            new Model("atlas-13b", "atlas", Tokenizer.BPE, null, Kind.CHAT),
            new Model("atlas-70b", "atlas", Tokenizer.BPE, null, Kind.CHAT),
            new Model("boreal-8b", "boreal", Tokenizer.SENTENCEPIECE, null, Kind.CHAT),
            new Model("boreal-32b", "boreal", Tokenizer.SENTENCEPIECE, null, Kind.CHAT),
            new Model("cedar-3b", "cedar", Tokenizer.BPE, null, Kind.CHAT),
            new Model("cedar-9b", "cedar", Tokenizer.BPE, null, Kind.CHAT),
            new Model("dune-4b", "dune", Tokenizer.SENTENCEPIECE, null, Kind.CHAT),
            new Model("dune-12b", "dune", Tokenizer.SENTENCEPIECE, null, Kind.CHAT),
            new Model("pupil-1b", "pupil", Tokenizer.SENTENCEPIECE, "atlas-70b", Kind.CHAT),
            new Model("loner-2b", "loner", Tokenizer.BPE, null, Kind.CHAT),
            new Model("atlas-embed", "atlas", Tokenizer.BPE, null, Kind.EMBEDDING),
            new Model("boreal-embed", "boreal", Tokenizer.SENTENCEPIECE, null, Kind.EMBEDDING),
            new Model("pupil-embed", "pupil", Tokenizer.SENTENCEPIECE, "atlas-embed", Kind.EMBEDDING),
            new Model("loner-embed", "loner", Tokenizer.BPE, null, Kind.EMBEDDING)));

    /** Orders (token, probability) pairs most probable first, ties by token, so every listing is deterministic. */
    static final Comparator<Map.Entry<String, Double>> MOST_PROBABLE_FIRST =
            Map.Entry.<String, Double>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey());

    private static final long UNIVERSAL_SALT = Noise.hash("universal");

    private final Map<String, Model> byId = new LinkedHashMap<>();
    /** Hash salts of each family's and each model's own part, computed once rather than per candidate. */
    private final Map<String, Long> familySalts = new HashMap<>();
    private final Map<String, Long> memberSalts = new HashMap<>();

    private SyntheticModels(List<Model> models) {
        for (Model m : models) {
            byId.put(m.id(), m);
            familySalts.put(m.family(), Noise.hash("family:" + m.family()));
            memberSalts.put(m.id(), Noise.hash("model:" + m.id()));
        }
    }

    /** The catalog above; immutable and shared. */
    public static SyntheticModels catalog() {
        return CATALOG;
    }

    /** Every model, in catalog order. */
    public List<Model> all() {
        return List.copyOf(byId.values());
    }

    public Optional<Model> find(String id) {
        return Optional.ofNullable(byId.get(id));
    }

    /** The model named {@code id}; IllegalArgumentException when the catalog has none. */
    public Model model(String id) {
        Model m = byId.get(id);
        if (m == null) {
            throw new IllegalArgumentException("model=" + id + " is not in the catalog " + byId.keySet());
        }
        return m;
    }

    /**
     * The full next-token distribution of chat model {@code modelId} after {@code promptText}:
     * token (as the model's tokenizer writes it) to probability, most probable first (ties by
     * token), summing to 1 up to rounding.
     */
    public Map<String, Double> nextTokenDistribution(String modelId, String promptText) {
        Model m = model(modelId);
        if (m.kind() != Kind.CHAT) {
            throw new IllegalArgumentException("model=" + modelId + " is an embedding model; expected a chat model");
        }
        Lexicon lexicon = Lexicon.get();
        long context = Noise.hash(promptText);
        int[] candidates = lexicon.candidates(context);
        double[] z = new double[candidates.length];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < candidates.length; i++) {
            z[i] = SHARPNESS * score(m, Noise.combine(context, candidates[i]));
            max = Math.max(max, z[i]);
        }
        double total = 0;
        for (int i = 0; i < z.length; i++) {
            z[i] = Math.exp(z[i] - max);
            total += z[i];
        }
        Map<String, Double> byToken = new HashMap<>();
        for (int i = 0; i < candidates.length; i++) {
            byToken.merge(m.tokenizer().firstToken(lexicon.entry(candidates[i])), z[i] / total, Double::sum);
        }
        List<Map.Entry<String, Double>> sorted = new ArrayList<>(byToken.entrySet());
        sorted.sort(MOST_PROBABLE_FIRST);
        Map<String, Double> result = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : sorted) {
            result.put(e.getKey(), e.getValue());
        }
        return result;
    }

    /**
     * The embedding of {@code text} by embedding model {@code modelId}: {@value #EMBEDDING_DIMENSIONS}
     * components of unit Euclidean length.
     */
    public double[] embedding(String modelId, String text) {
        Model m = model(modelId);
        if (m.kind() != Kind.EMBEDDING) {
            throw new IllegalArgumentException("model=" + modelId + " is a chat model; expected an embedding model");
        }
        long context = Noise.hash("embedding\n" + text);
        double[] v = new double[EMBEDDING_DIMENSIONS];
        double norm = 0;
        for (int d = 0; d < v.length; d++) {
            v[d] = score(m, Noise.combine(context, d));
            norm += v[d] * v[d];
        }
        norm = Math.sqrt(norm);
        for (int d = 0; d < v.length; d++) {
            v[d] /= norm;
        }
        return v;
    }

    /** The tokenizer-independent probability of each first character of the next word; for comparing models. */
    public Map<Character, Double> firstCharacterDistribution(String modelId, String promptText) {
        Tokenizer tokenizer = model(modelId).tokenizer();
        Map<Character, Double> byChar = new HashMap<>();
        nextTokenDistribution(modelId, promptText).forEach((token, p) ->
                byChar.merge(tokenizer.decode(token).strip().charAt(0), p, Double::sum));
        return byChar;
    }

    /** Model m's raw score for one (context, candidate or dimension) key; see the class comment. */
    private double score(Model m, long key) {
        double own = UNIVERSAL * Noise.gaussian(Noise.combine(key, UNIVERSAL_SALT))
                + FAMILY * Noise.gaussian(Noise.combine(key, familySalts.get(m.family())))
                + MEMBER * Noise.gaussian(Noise.combine(key, memberSalts.get(m.id())));
        if (m.teacher() == null) {
            return own;
        }
        return (1 - DISTILLATION) * own + DISTILLATION * score(model(m.teacher()), key);
    }

}
