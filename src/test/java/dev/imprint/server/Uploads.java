package dev.imprint.server;

import dev.imprint.api.v1.ImprintGrpc;
import dev.imprint.api.v1.PutReferenceRequest;
import dev.imprint.api.v1.Reference;
import dev.imprint.api.v1.ReferenceHeader;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/** Raw PutReference messages, for tests that send what ImprintClient never would. */
public final class Uploads {
    private Uploads() {}

    public static PutReferenceRequest header(String probeSetId, String modelId) {
        return PutReferenceRequest.newBuilder().setHeader(ReferenceHeader.newBuilder().setProbeSetId(probeSetId)
                .setModelId(modelId)).build();
    }

    /** A chunk carrying {@code count} values of {@code rows} from {@code offset}, labelled as starting at {@code firstRow}. */
    public static PutReferenceRequest chunk(int firstRow, float[] rows, int offset, int count) {
        return PutReferenceRequest.newBuilder().setRows(ProtoMapper.rowChunk(firstRow, rows, offset, count)).build();
    }

    /** Sends {@code messages}, half-closes and returns the call's status. */
    public static Status send(ImprintGrpc.ImprintStub stub, PutReferenceRequest... messages) {
        CallRecorder<PutReferenceRequest, Reference> recorder = new CallRecorder<>();
        StreamObserver<PutReferenceRequest> requests = stub.putReference(recorder);
        for (PutReferenceRequest m : messages) {
            requests.onNext(m);
        }
        requests.onCompleted();
        return recorder.await();
    }
}
