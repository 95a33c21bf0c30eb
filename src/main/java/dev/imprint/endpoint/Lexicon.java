package dev.imprint.endpoint;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The fixed vocabulary every synthetic model speaks: a few thousand pronounceable made-up words
 * (consonant-vowel syllables, so first letters spread over about 24 letters) plus a few
 * punctuation and digit tokens, generated from a fixed seed so it never changes between runs.
 */
final class Lexicon {
    static final int WORDS = 3000;
    /** Next-word candidates per prompt: a real LM's mass also sits on a few hundred words. */
    static final int CANDIDATES = 300;

    private static final String CONSONANTS = "bcdfghjklmnprstvwyz";
    private static final String VOWELS = "aeiou";
    private static final List<String> SYMBOLS = List.of(",", ".", ";", "?", "1", "2", "3", "7");
    private static final long SEED = 0x1A7B0C5L;

    private static final Lexicon INSTANCE = new Lexicon();

    private final List<String> entries;

    private Lexicon() {
        Noise.Stream random = new Noise.Stream(SEED);
        Set<String> words = new LinkedHashSet<>();
        while (words.size() < WORDS) {
            words.add(word(random));
        }
        List<String> all = new ArrayList<>(words);
        all.addAll(SYMBOLS);
        this.entries = List.copyOf(all);
    }

    static Lexicon get() {
        return INSTANCE;
    }

    /** Every entry: words first, then the symbols. */
    List<String> entries() {
        return entries;
    }

    String entry(int index) {
        return entries.get(index);
    }

    /** Whether {@code entry} is a symbol, written without a leading space by every tokenizer. */
    static boolean isSymbol(String entry) {
        return !Character.isLetter(entry.charAt(0));
    }

    /**
     * The indices of the {@link #CANDIDATES} entries that may follow the text whose hash is
     * {@code contextHash}, in a fixed order; distinct, and the same for every model.
     */
    int[] candidates(long contextHash) {
        Noise.Stream random = new Noise.Stream(contextHash);
        boolean[] taken = new boolean[entries.size()];
        int[] chosen = new int[CANDIDATES];
        for (int n = 0; n < CANDIDATES; ) {
            int index = random.nextInt(entries.size());
            if (!taken[index]) {
                taken[index] = true;
                chosen[n++] = index;
            }
        }
        return chosen;
    }

    private static String word(Noise.Stream random) {
        double r = random.nextDouble();
        int syllables = r < 0.1 ? 1 : r < 0.5 ? 2 : r < 0.85 ? 3 : 4;
        StringBuilder word = new StringBuilder();
        for (int s = 0; s < syllables; s++) {
            // A few words open with a vowel, as English ones do.
            if (s > 0 || random.nextDouble() < 0.85) {
                word.append(CONSONANTS.charAt(random.nextInt(CONSONANTS.length())));
            }
            word.append(VOWELS.charAt(random.nextInt(VOWELS.length())));
        }
        if (word.length() < 2) {
            word.append(CONSONANTS.charAt(random.nextInt(CONSONANTS.length())));
        }
        return word.toString();
    }
}
