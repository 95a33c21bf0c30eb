package dev.imprint.soak;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** The shaded jar {@code mvn package} built, for the integration tests that fork a server from it. */
final class BuiltJar {
    private static final Path ROOT = Path.of("").toAbsolutePath();

    private BuiltJar() {}

    /** target/imprint-*-all.jar; skips, saying why, when it is missing or older than a source. */
    static Path require() throws IOException {
        Optional<Path> jar = Optional.empty();
        Path target = ROOT.resolve("target");
        if (Files.isDirectory(target)) {
            try (Stream<Path> files = Files.list(target)) {
                jar = files.filter(f -> f.getFileName().toString().matches("imprint-.*-all\\.jar"))
                        .max(Comparator.comparing(BuiltJar::modified));
            }
        }
        assumeTrue(jar.isPresent(), "target/imprint-*-all.jar is not built (run mvn package first)");
        FileTime built = modified(jar.get());
        for (Path dir : List.of(ROOT.resolve("src/main"), ROOT.resolve("proto"))) {
            try (Stream<Path> walk = Files.walk(dir)) {
                assumeTrue(walk.filter(Files::isRegularFile).allMatch(p -> modified(p).compareTo(built) <= 0),
                        "target/imprint-*-all.jar is older than the sources under " + dir);
            }
        }
        return jar.get();
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
