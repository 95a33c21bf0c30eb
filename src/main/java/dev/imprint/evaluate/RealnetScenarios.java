package dev.imprint.evaluate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.imprint.core.ImprintException;
import dev.imprint.core.ProbeSet;
import dev.imprint.io.ReferenceFile;
import dev.imprint.io.SuspectTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;

/**
 * The real-network evaluation: the fixture {@code scripts/realnet/make_fixture.py} writes (tiny
 * byte-level GRU language models, students made by real soft-label KD, sequence KD and mixed data,
 * hard negatives), one scenario per probe set. Ground truth comes from its {@code manifest.json}:
 * a student is DISTILLED from its teacher; a family base, an extra fine-tune, or a student of a
 * non-reference model of a reference family SHARES_A_BASE; the rest is INDEPENDENT.
 */
public final class RealnetScenarios {
    /** Where the fixture lives in the repository. */
    public static final Path DEFAULT_FIXTURE = Path.of("src/test/resources/dev/imprint/realnet");

    private static final Pattern FAMILY_IN_DETAIL = Pattern.compile("\\(family ([A-Za-z0-9._:-]+)\\)");

    private RealnetScenarios() {}

    /**
     * Every probe set of the fixture, in name order.
     *
     * @throws ImprintException NOT_FOUND if {@code fixture} holds no manifest.json; INVALID_ARGUMENT
     *     naming the file for anything unreadable
     */
    public static List<Scenario> load(BufferAllocator allocator, Path fixture) throws IOException {
        Path manifestFile = fixture.resolve("manifest.json");
        if (!Files.isRegularFile(manifestFile)) {
            throw ImprintException.notFound("%s holds no manifest.json; expected the real-network fixture that "
                    + "scripts/realnet/make_fixture.py writes", fixture);
        }
        JsonNode manifest = new ObjectMapper().readTree(manifestFile.toFile());
        Set<String> referenceFamilies = new HashSet<>();
        for (JsonNode r : manifest.path("references")) {
            if (r.path("role").asText().equals("protected")) {
                referenceFamilies.add(r.path("family").asText());
            }
        }
        Map<String, JsonNode> truth = new HashMap<>();
        for (JsonNode s : manifest.path("suspects")) {
            truth.put(s.path("suspect_id").asText(), s);
        }
        List<Scenario> scenarios = new ArrayList<>();
        List<Path> sets;
        try (Stream<Path> listing = Files.list(fixture)) {
            sets = listing.filter(p -> Files.isDirectory(p.resolve("references"))).sorted().toList();
        }
        for (Path dir : sets) {
            scenarios.add(loadSet(allocator, dir, truth, referenceFamilies));
        }
        if (scenarios.isEmpty()) {
            throw ImprintException.notFound("%s holds no probe set directory (one with references/)", fixture);
        }
        return scenarios;
    }

    private static Scenario loadSet(BufferAllocator allocator, Path dir, Map<String, JsonNode> truth,
                                    Set<String> referenceFamilies) throws IOException {
        List<Scenario.Reference> refs = new ArrayList<>();
        ProbeSet set = null;
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir.resolve("references"))) {
            files = listing.filter(p -> p.toString().endsWith(".arrow")).sorted().toList();
        }
        for (Path file : files) {
            ReferenceFile.Contents c = ReferenceFile.readInput(allocator, file);
            set = c.probeSet();
            refs.add(new Scenario.Reference(c.reference().meta().modelId(), c.reference().meta().labels(),
                    c.reference().meta().role(), c.reference().rows()));
        }
        List<LabelledSuspect> suspects = new ArrayList<>();
        try (SuspectTable.Reader reader = SuspectTable.open(allocator, dir.resolve("suspects.arrow"),
                set.numProbes())) {
            for (SuspectTable.SuspectRows s = reader.next(); s != null; s = reader.next()) {
                JsonNode t = truth.get(s.modelId());
                if (t == null) {
                    throw ImprintException.invalidArgument("suspect %s of %s is not in manifest.json", s.modelId(),
                            dir);
                }
                if (s.probeIndices().length != set.numProbes()
                        || !java.util.Arrays.equals(s.probeIndices(), java.util.stream.IntStream.range(0,
                        set.numProbes()).toArray())) {
                    throw ImprintException.invalidArgument("suspect %s of %s does not answer every probe in order",
                            s.modelId(), dir);
                }
                suspects.add(labelled(s, t, referenceFamilies));
            }
        }
        return new Scenario(dir.getFileName().toString(), set, refs, suspects);
    }

    private static LabelledSuspect labelled(SuspectTable.SuspectRows s, JsonNode t, Set<String> referenceFamilies) {
        if (t.path("kind").asText().equals("student")) {
            return new LabelledSuspect(s.modelId(), t.path("method").asText() + " " + t.path("strength").asText(),
                    SynthScenarios.NONE, s.rows(), Truth.DISTILLED, t.path("teacher").asText(),
                    t.path("teacher_family").asText());
        }
        String type = t.path("negative_type").asText();
        String family = t.path("own_family").asText();
        Matcher m = FAMILY_IN_DETAIL.matcher(t.path("detail").asText());
        if (!referenceFamilies.contains(family) && m.find()) {
            family = m.group(1);
        }
        Truth truthClass = referenceFamilies.contains(family) ? Truth.SHARES_A_BASE : Truth.INDEPENDENT;
        return new LabelledSuspect(s.modelId(), "negative " + type, SynthScenarios.NONE, s.rows(), truthClass, null,
                truthClass == Truth.SHARES_A_BASE ? family : null);
    }
}
