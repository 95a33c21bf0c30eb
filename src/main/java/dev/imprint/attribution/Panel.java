package dev.imprint.attribution;

import dev.imprint.core.ReferenceRole;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The references a suspect is attributed against, and how they group into families.
 *
 * <p>A reference's family is its {@code family} label; a reference without one is a family of its
 * own. A family of one has no sibling in the panel, so a student of it cannot be told from a model
 * that shares its base.
 */
public final class Panel {
    /** The label that names a reference's family. */
    public static final String FAMILY_LABEL = "family";

    /** One reference: its id, family label (null when absent) and role. */
    public record Member(String modelId, String family, ReferenceRole role) {
        public boolean isCandidate() {
            return role == ReferenceRole.PROTECTED;
        }
    }

    /**
     * A family as the panel holds it.
     *
     * @param name    the family label, or the model id of an unlabelled reference
     * @param members indices into the panel
     */
    public record Family(String name, int[] members, boolean labelled, boolean hasCandidate) {
        public int size() {
            return members.length;
        }
    }

    private final List<Member> members;
    private final List<Family> families;
    private final int[] familyOf;
    private final int candidates;

    public Panel(List<Member> members) {
        this.members = List.copyOf(members);
        this.familyOf = new int[members.size()];
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            // "\0" cannot start a label value or a model id, so unlabelled models never join a family.
            String key = m.family() == null ? "\0" + m.modelId() : m.family();
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(i);
        }
        List<Family> built = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
            int[] idx = g.getValue().stream().mapToInt(Integer::intValue).toArray();
            boolean labelled = !g.getKey().startsWith("\0");
            boolean hasCandidate = false;
            for (int i : idx) {
                familyOf[i] = built.size();
                hasCandidate |= members.get(i).isCandidate();
            }
            built.add(new Family(labelled ? g.getKey() : g.getKey().substring(1), idx, labelled, hasCandidate));
        }
        this.families = List.copyOf(built);
        this.candidates = (int) members.stream().filter(Member::isCandidate).count();
    }

    public List<Member> members() {
        return members;
    }

    public int size() {
        return members.size();
    }

    public Member member(int i) {
        return members.get(i);
    }

    public List<Family> families() {
        return families;
    }

    /** The index in {@link #families()} of member {@code i}'s family. */
    public int familyOf(int i) {
        return familyOf[i];
    }

    /** How many members may be named as a teacher. */
    public int candidateCount() {
        return candidates;
    }
}
