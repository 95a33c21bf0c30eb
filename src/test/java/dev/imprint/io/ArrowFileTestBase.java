package dev.imprint.io;

import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** A temporary directory and a root allocator whose close fails the test if any Arrow memory leaked. */
abstract class ArrowFileTestBase {
    @TempDir
    Path dir;

    final BufferAllocator allocator = new RootAllocator();

    @AfterEach
    void closeAllocatorFailingOnLeaks() {
        allocator.close();
    }
}
