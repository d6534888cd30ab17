# cmake -DSEEDS=<generator> -DSEED_DIR=... -DCORPUS_DIR=... -DARTIFACT_DIR=... -P prepare_corpus.cmake
#
# Writes fresh seeds and an empty working corpus for one bounded fuzz run, so
# that each run starts from the same inputs.
foreach(var SEEDS SEED_DIR CORPUS_DIR ARTIFACT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "prepare_corpus.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${SEED_DIR} ${CORPUS_DIR})
file(MAKE_DIRECTORY ${SEED_DIR} ${CORPUS_DIR} ${ARTIFACT_DIR})
execute_process(COMMAND ${SEEDS} ${SEED_DIR} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SEEDS} ${SEED_DIR} failed: ${rc}")
endif()
