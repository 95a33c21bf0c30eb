package dev.imprint.core;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/** Label maps: free-form string pairs such as family=llama, provider=acme. */
public final class Labels {
    public static final int MAX_KEY_LENGTH = 128;
    public static final int MAX_VALUE_LENGTH = 1024;
    public static final int MAX_LABELS = 64;

    private Labels() {}

    /** Returns an immutable, key-sorted copy of {@code labels} after checking sizes; null means none. */
    public static Map<String, String> copyOf(String field, Map<String, String> labels) {
        if (labels == null || labels.isEmpty()) {
            return Collections.emptySortedMap();
        }
        if (labels.size() > MAX_LABELS) {
            throw ImprintException.invalidArgument("%s has %d entries; at most %d are allowed",
                    field, labels.size(), MAX_LABELS);
        }
        TreeMap<String, String> copy = new TreeMap<>();
        for (Map.Entry<String, String> e : labels.entrySet()) {
            String key = e.getKey();
            String value = e.getValue() == null ? "" : e.getValue();
            if (key == null || key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
                throw ImprintException.invalidArgument("%s has a key of length %d; expected 1..%d characters",
                        field, key == null ? 0 : key.length(), MAX_KEY_LENGTH);
            }
            if (value.length() > MAX_VALUE_LENGTH) {
                throw ImprintException.invalidArgument("%s['%s'] has %d characters; at most %d are allowed",
                        field, key, value.length(), MAX_VALUE_LENGTH);
            }
            copy.put(key, value);
        }
        return Collections.unmodifiableSortedMap(copy);
    }

    /** True when {@code labels} carries every pair of {@code selector}; an empty selector matches all. */
    public static boolean matches(Map<String, String> selector, Map<String, String> labels) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
